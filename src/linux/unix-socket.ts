// Unix stream sockets through libc, because Node's net module cannot pass
// file descriptors. Used to hand a seccomp listener to its agent and a pty
// master to a --console-socket; the listening side serves tests and agents.
// struct msghdr / cmsghdr are laid out by hand (x86_64 and arm64 LP64 layout).
import { check, libc, lastErrno, syscallError } from './libc';
import { closeFd, openFd, openSocket, O_CLOEXEC, O_PATH, SOCK_CLOEXEC } from './fd';
import { NativeMemory } from './native-memory';

const c = {
  connect: libc.func('int connect(int fd, const uint8_t *addr, uint32_t len)'),
  bind: libc.func('int bind(int fd, const uint8_t *addr, uint32_t len)'),
  listen: libc.func('int listen(int fd, int backlog)'),
  accept4: libc.func('int accept4(int fd, void *addr, void *len, int flags)'),
  sendmsg: libc.func('long sendmsg(int fd, void *msg, int flags)'),
  recvmsg: libc.func('long recvmsg(int fd, void *msg, int flags)'),
  poll: libc.func('int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)'),
  socketpair: libc.func('int socketpair(int domain, int type, int protocol, _Out_ int *fds)'),
};

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CTRUNC = 0x8;
const MSG_DONTWAIT = 0x40;
/** A peer that went away gives EPIPE, not a SIGPIPE that would kill the sender. */
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const EINTR = 4;
const EAGAIN = 11;
const POLLIN = 1;

/** sun_path is 108 bytes with the terminating NUL. */
const SUN_PATH_MAX = 107;
const SOCKADDR_UN_BYTES = 110;
const MSGHDR_BYTES = 56;
const IOVEC_BYTES = 16;
const CMSGHDR_BYTES = 16;
const align8 = (n: number): number => (n + 7) & ~7;
const cmsgSpace = (dataBytes: number): number => CMSGHDR_BYTES + align8(dataBytes);

function sockaddrUn(path: string): Buffer {
  const addr = Buffer.alloc(SOCKADDR_UN_BYTES);
  addr.writeUInt16LE(AF_UNIX, 0);
  addr.write(path, 2);
  return addr;
}

function retryEintr(call: () => number): number {
  for (;;) {
    const ret = call();
    if (ret >= 0 || lastErrno() !== EINTR) return ret;
  }
}

/**
 * A connected, close-on-exec stream socket to the unix socket at `path`. A
 * path longer than sun_path is reached through an O_PATH descriptor of the
 * socket file and its /proc/self/fd name.
 */
export function connectUnix(path: string): number {
  const sock = openSocket(AF_UNIX, SOCK_STREAM, 0, 'AF_UNIX');
  let pathFd = -1;
  try {
    let target = path;
    if (Buffer.byteLength(path) > SUN_PATH_MAX) {
      pathFd = openFd(path, O_PATH | O_CLOEXEC);
      target = `/proc/self/fd/${pathFd}`;
    }
    const addr = sockaddrUn(target);
    if (retryEintr(() => c.connect(sock, addr, addr.length) as number) < 0) throw syscallError('connect', path);
    return sock;
  } catch (err) {
    closeFd(sock);
    throw err;
  } finally {
    if (pathFd >= 0) closeFd(pathFd);
  }
}

/** A listening, close-on-exec socket bound at `path` (which must not exist); non-blocking when asked. */
export function listenUnix(path: string, options: { nonblocking?: boolean; backlog?: number } = {}): number {
  if (Buffer.byteLength(path) > SUN_PATH_MAX) throw new Error(`unix socket path longer than ${SUN_PATH_MAX} bytes: ${path}`);
  const type = SOCK_STREAM | SOCK_CLOEXEC | (options.nonblocking ? SOCK_NONBLOCK : 0);
  const sock = openSocket(AF_UNIX, type, 0, 'AF_UNIX');
  try {
    const addr = sockaddrUn(path);
    check(c.bind(sock, addr, addr.length) as number, 'bind', path);
    check(c.listen(sock, options.backlog ?? 16) as number, 'listen', path);
    return sock;
  } catch (err) {
    closeFd(sock);
    throw err;
  }
}

/**
 * Two connected, close-on-exec stream sockets: a channel to a forked child,
 * which inherits both (fork keeps close-on-exec descriptors) and may pass
 * descriptors back on its end.
 */
export function socketPair(): [number, number] {
  const fds = [0, 0];
  check(c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) as number, 'socketpair', 'AF_UNIX');
  return [fds[0], fds[1]];
}

/** The next connection (close-on-exec, non-blocking like the listener), or null when none waits. */
export function acceptUnix(listener: number, options: { nonblocking?: boolean } = {}): number | null {
  const flags = SOCK_CLOEXEC | (options.nonblocking ? SOCK_NONBLOCK : 0);
  const fd = retryEintr(() => c.accept4(listener, null, null, flags) as number);
  if (fd >= 0) return fd;
  if (lastErrno() === EAGAIN) return null;
  throw syscallError('accept4', `fd ${listener}`);
}

/** True when `fd` has something to read (or hung up) within `timeoutMs` (0: just look). */
export function waitReadable(fd: number, timeoutMs: number): boolean {
  // struct pollfd: int fd, short events, short revents.
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(POLLIN, 4);
  const n = retryEintr(() => c.poll(pfd, 1, timeoutMs) as number);
  if (n < 0) throw syscallError('poll', `fd ${fd}`);
  return n > 0;
}

/** Fills a struct msghdr at `at` pointing at one iovec and (optionally) control data. */
function writeMsghdr(mem: NativeMemory, at: number, iov: number, control: number, controlLen: number): void {
  const b = mem.bytes();
  b.writeBigUInt64LE(mem.address + BigInt(iov), at + 16); // msg_iov
  b.writeBigUInt64LE(1n, at + 24); // msg_iovlen
  b.writeBigUInt64LE(controlLen > 0 ? mem.address + BigInt(control) : 0n, at + 32); // msg_control
  b.writeBigUInt64LE(BigInt(controlLen), at + 40); // msg_controllen
}

/**
 * Sends `payload` with `fds` attached as SCM_RIGHTS in one sendmsg (the
 * receiver gets the descriptors with the first bytes). Short sends are
 * finished without the descriptors, which went with the first part.
 */
export function sendFds(sock: number, payload: Buffer, fds: number[]): void {
  const controlLen = fds.length > 0 ? cmsgSpace(4 * fds.length) : 0;
  const iov = MSGHDR_BYTES;
  const control = iov + IOVEC_BYTES;
  const data = control + controlLen;
  const mem = new NativeMemory(data + payload.length);
  try {
    const b = mem.bytes();
    if (controlLen > 0) {
      b.writeBigUInt64LE(BigInt(CMSGHDR_BYTES + 4 * fds.length), control); // cmsg_len
      b.writeInt32LE(SOL_SOCKET, control + 8);
      b.writeInt32LE(SCM_RIGHTS, control + 12);
      fds.forEach((fd, i) => b.writeInt32LE(fd, control + CMSGHDR_BYTES + 4 * i));
    }
    payload.copy(b, data);
    let sent = 0;
    let withControl = controlLen;
    do {
      b.writeBigUInt64LE(mem.address + BigInt(data + sent), iov); // iov_base
      b.writeBigUInt64LE(BigInt(payload.length - sent), iov + 8); // iov_len
      writeMsghdr(mem, 0, iov, control, withControl);
      const n = retryEintr(() => Number(c.sendmsg(sock, mem.pointer, MSG_NOSIGNAL)));
      if (n < 0) throw syscallError('sendmsg', `fd ${sock}`);
      sent += n;
      withControl = 0;
    } while (sent < payload.length);
  } finally {
    mem.free();
  }
}

export interface Received {
  /** Empty at end of stream. */
  payload: Buffer;
  /** Descriptors that came with it, close-on-exec. */
  fds: number[];
}

/**
 * One recvmsg of up to `maxBytes` with up to `maxFds` descriptors. With
 * `dontWait`, null when nothing is there yet. Throws if descriptors were cut
 * off (they would be lost), after closing the ones that did arrive.
 */
export function recvFds(sock: number, maxBytes: number, maxFds: number, options: { dontWait?: boolean } = {}): Received | null {
  const controlLen = cmsgSpace(4 * Math.max(maxFds, 1));
  const iov = MSGHDR_BYTES;
  const control = iov + IOVEC_BYTES;
  const data = control + controlLen;
  const mem = new NativeMemory(data + maxBytes);
  try {
    const b = mem.bytes();
    b.writeBigUInt64LE(mem.address + BigInt(data), iov);
    b.writeBigUInt64LE(BigInt(maxBytes), iov + 8);
    writeMsghdr(mem, 0, iov, control, controlLen);
    const flags = MSG_CMSG_CLOEXEC | (options.dontWait ? MSG_DONTWAIT : 0);
    const n = retryEintr(() => Number(c.recvmsg(sock, mem.pointer, flags)));
    if (n < 0) {
      if (lastErrno() === EAGAIN && options.dontWait) return null;
      throw syscallError('recvmsg', `fd ${sock}`);
    }
    const fds = parseRights(b, control, Number(b.readBigUInt64LE(40)));
    if ((b.readInt32LE(48) & MSG_CTRUNC) !== 0) {
      fds.forEach(closeFd);
      throw new Error(`recvmsg(fd ${sock}): more than ${maxFds} descriptors sent, some were lost`);
    }
    return { payload: Buffer.from(b.subarray(data, data + n)), fds };
  } finally {
    mem.free();
  }
}

/** The descriptors in the SCM_RIGHTS messages of a control buffer. */
function parseRights(b: Buffer, control: number, controlLen: number): number[] {
  const fds: number[] = [];
  let at = 0;
  while (at + CMSGHDR_BYTES <= controlLen) {
    const len = Number(b.readBigUInt64LE(control + at));
    if (len < CMSGHDR_BYTES) break;
    if (b.readInt32LE(control + at + 8) === SOL_SOCKET && b.readInt32LE(control + at + 12) === SCM_RIGHTS) {
      for (let off = CMSGHDR_BYTES; off + 4 <= len; off += 4) fds.push(b.readInt32LE(control + at + off));
    }
    at += align8(len);
  }
  return fds;
}
