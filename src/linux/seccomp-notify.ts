// The agent's side of SCMP_ACT_NOTIFY: read one notification from a listener
// fd and answer it. tsrun itself never supervises; this serves tests (and any
// agent written on top of tsrun's helpers). Layouts from <linux/seccomp.h>.
import { check, libc } from './libc';

const ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)');

/** _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp). */
const SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100;
const SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101;
const NOTIF_BYTES = 80;
const RESP_BYTES = 24;

export interface SeccompNotification {
  id: bigint;
  /** The caller, as a pid of the listener holder's pid namespace. */
  pid: number;
  syscall: number;
  arch: number;
  args: bigint[];
}

/** Blocks until a notified syscall arrives (poll the fd first to avoid waiting). */
export function receiveNotification(listener: number): SeccompNotification {
  const notif = Buffer.alloc(NOTIF_BYTES); // the kernel wants it zeroed
  check(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, 'void *', notif) as number, 'ioctl', 'SECCOMP_IOCTL_NOTIF_RECV');
  const args: bigint[] = [];
  for (let i = 0; i < 6; i++) args.push(notif.readBigUInt64LE(32 + 8 * i));
  return { id: notif.readBigUInt64LE(0), pid: notif.readUInt32LE(8), syscall: notif.readInt32LE(16), arch: notif.readUInt32LE(20), args };
}

/** Makes the notified syscall fail with `errno` (or return `value` when errno is 0). */
export function answerNotification(listener: number, id: bigint, errno: number, value = 0n): void {
  const resp = Buffer.alloc(RESP_BYTES);
  resp.writeBigUInt64LE(id, 0);
  resp.writeBigInt64LE(value, 8);
  resp.writeInt32LE(-errno, 16);
  check(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, 'void *', resp) as number, 'ioctl', 'SECCOMP_IOCTL_NOTIF_SEND');
}
