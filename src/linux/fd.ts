// File-descriptor level calls that Node's fs module does not offer (pipes
// without Node streams, fcntl flags, close_range, fifos, device nodes).
import { readdirSync } from 'node:fs';
import { check, libc, rawSyscall, syscallNumber, lastErrno, syscallError } from './libc';

const c = {
  open: libc.func('int open(const char *path, int flags, int mode)'),
  close: libc.func('int close(int fd)'),
  read: libc.func('long read(int fd, _Out_ uint8_t *buf, size_t count)'),
  write: libc.func('long write(int fd, const uint8_t *buf, size_t count)'),
  pipe2: libc.func('int pipe2(_Out_ int *fds, int flags)'),
  fcntl: libc.func('int fcntl(int fd, int cmd, ...)'),
  dup3: libc.func('int dup3(int oldfd, int newfd, int flags)'),
  mkfifo: libc.func('int mkfifo(const char *path, uint32_t mode)'),
  mknod: libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
  chown: libc.func('int chown(const char *path, uint32_t uid, uint32_t gid)'),
  fchown: libc.func('int fchown(int fd, uint32_t uid, uint32_t gid)'),
};

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;

export function openFd(path: string, flags: number, mode = 0): number {
  return check(c.open(path, flags, mode) as number, 'open', path);
}

const socketCall = libc.func('int socket(int domain, int type, int protocol)');
export const SOCK_CLOEXEC = 0o2000000;

/** socket(2), close-on-exec; `shown` names it in errors (`socket(AF_NETLINK): EACCES`). */
export function openSocket(domain: number, type: number, protocol: number, shown: string): number {
  return check(socketCall(domain, type | SOCK_CLOEXEC, protocol) as number, 'socket', shown);
}

export function closeFd(fd: number): void {
  c.close(fd);
}

/** Reads up to `max` bytes; returns an empty buffer at end of file. Retries EINTR. */
export function readFd(fd: number, max: number): Buffer {
  const buf = Buffer.alloc(max);
  for (;;) {
    const n = c.read(fd, buf, max) as number;
    if (n >= 0) return buf.subarray(0, n);
    if (lastErrno() !== 4 /* EINTR */) throw syscallError('read', `fd ${fd}`);
  }
}

/** Writes the whole buffer, retrying short writes and EINTR. */
export function writeFd(fd: number, data: Buffer | string): void {
  let buf = typeof data === 'string' ? Buffer.from(data) : data;
  while (buf.length > 0) {
    const n = c.write(fd, buf, buf.length) as number;
    if (n < 0) {
      if (lastErrno() === 4) continue;
      throw syscallError('write', `fd ${fd}`);
    }
    buf = buf.subarray(n);
  }
}

/** A pipe made by the kernel, not by Node, so Node never sets O_NONBLOCK on it. */
export function makePipe(cloexec = true): { read: number; write: number } {
  const fds = [0, 0];
  check(c.pipe2(fds, cloexec ? O_CLOEXEC : 0) as number, 'pipe2');
  return { read: fds[0], write: fds[1] };
}

export function setCloexec(fd: number, on: boolean): void {
  const flags = check(c.fcntl(fd, F_GETFD) as number, 'fcntl(F_GETFD)', `fd ${fd}`);
  const next = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
  if (next !== flags) check(c.fcntl(fd, F_SETFD, 'int', next) as number, 'fcntl(F_SETFD)', `fd ${fd}`);
}

export function setNonblocking(fd: number, on: boolean): void {
  const flags = check(c.fcntl(fd, F_GETFL) as number, 'fcntl(F_GETFL)', `fd ${fd}`);
  const next = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  if (next !== flags) check(c.fcntl(fd, F_SETFL, 'int', next) as number, 'fcntl(F_SETFL)', `fd ${fd}`);
}

/** True when `fd` is an open descriptor. */
export function isOpen(fd: number): boolean {
  return (c.fcntl(fd, F_GETFD) as number) >= 0;
}

export function dupTo(oldFd: number, newFd: number, cloexec = false): void {
  check(c.dup3(oldFd, newFd, cloexec ? O_CLOEXEC : 0) as number, 'dup3', `fd ${oldFd} to ${newFd}`);
}

/**
 * Marks every descriptor from `first` upwards close-on-exec: they close at
 * execve and reach no program, as runc does it. Not closed now: Node's own
 * descriptors (libuv's event fd) must stay valid until execve, or a task V8
 * posts in between (a GC growing the heap) aborts the process.
 */
export function closeOnExecFrom(first: number): void {
  closeOnExecRange(first, 0xffffffff);
}

const CLOSE_RANGE_CLOEXEC = 4;

/**
 * close_range(2) with CLOSE_RANGE_CLOEXEC, or FD_CLOEXEC on each open
 * descriptor when it is refused: a container's seccomp profile, loaded before
 * this point when the process may not set no_new_privs, often predates
 * close_range and answers EPERM/ENOSYS (EINVAL: a kernel before 5.11).
 */
function closeOnExecRange(first: number, last: number): void {
  if (rawSyscall(syscallNumber('close_range'), 'unsigned int', first, 'unsigned int', last, 'unsigned int', CLOSE_RANGE_CLOEXEC) >= 0) return;
  const errno = lastErrno();
  if (errno !== 1 /* EPERM */ && errno !== 38 /* ENOSYS */ && errno !== 22 /* EINVAL */) throw syscallError('close_range', `fds ${first}-${last}`, errno);
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd >= first && fd <= last && isOpen(fd)) setCloexec(fd, true);
  }
}

export function makeFifo(path: string, mode: number): void {
  check(c.mkfifo(path, mode) as number, 'mkfifo', path);
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

export function makeNode(path: string, mode: number, major: number, minor: number): void {
  check(c.mknod(path, mode, makedev(major, minor)) as number, 'mknod', path);
}

export function chownPath(path: string, uid: number, gid: number): void {
  check(c.chown(path, uid >>> 0, gid >>> 0) as number, 'chown', path);
}

export function chownFd(fd: number, uid: number, gid: number): void {
  check(c.fchown(fd, uid >>> 0, gid >>> 0) as number, 'fchown', `fd ${fd}`);
}

const memfdCreate = libc.func('int memfd_create(const char *name, unsigned int flags)');
const MFD_CLOEXEC = 1;

/** An anonymous in-memory file: usable where no writable filesystem is (inside a read-only container). */
export function makeMemoryFile(name: string): number {
  return check(memfdCreate(name, MFD_CLOEXEC) as number, 'memfd_create', name);
}
