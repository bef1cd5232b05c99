// mount(2), umount2(2), pivot_root(2) and chroot(2).
import { check, libc, rawSyscall, syscallNumber, syscallError } from './libc';

const c = {
  mount: libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
  umount2: libc.func('int umount2(const char *target, int flags)'),
  chroot: libc.func('int chroot(const char *path)'),
};

export const MNT_DETACH = 2;

/**
 * mount(2). `shown` is the target as errors name it: the container path the
 * user wrote where `target` is a /proc/self/fd/N alias or a host path.
 */
export function mountFs(source: string, target: string, fstype: string, flags: number, data = '', shown = target): void {
  const ret = c.mount(source, target, fstype, flags, data === '' ? null : data) as number;
  if (ret < 0) throw syscallError('mount', `${JSON.stringify(fstype || source)} on ${shown}`);
}

export function unmount(target: string, flags: number): void {
  check(c.umount2(target, flags) as number, 'umount2', target);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  const ret = rawSyscall(syscallNumber('pivot_root'), 'const char *', newRoot, 'const char *', putOld);
  if (ret < 0) throw syscallError('pivot_root', newRoot);
}

export function changeRoot(path: string): void {
  check(c.chroot(path) as number, 'chroot', path);
}

const statvfs = libc.func('int statvfs(const char *path, _Out_ uint8_t *buf)');
const STATVFS_BYTES = 112;
const STATVFS_FLAG_OFFSET = 72;
// ST_* bits that equal their MS_* twins, plus ST_RELATIME (4096) -> MS_RELATIME.
const ST_SAME_AS_MS = 0x1 | 0x2 | 0x4 | 0x8 | 0x400 | 0x800;
const ST_RELATIME = 0x1000;
const MS_RELATIME = 0x200000;

/**
 * The mount flags the kernel holds for the mount at `path`. A remount inside
 * a user namespace must repeat the locked ones (nosuid, nodev, ...) or fail.
 * `shown` names the path in errors, as for mountFs.
 */
export function currentMountFlags(path: string, shown = path): number {
  const buf = Buffer.alloc(STATVFS_BYTES);
  check(statvfs(path, buf) as number, 'statvfs', shown);
  const st = Number(buf.readBigUInt64LE(STATVFS_FLAG_OFFSET));
  return (st & ST_SAME_AS_MS) | (st & ST_RELATIME ? MS_RELATIME : 0);
}
