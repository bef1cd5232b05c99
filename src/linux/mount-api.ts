// The kernel's file-descriptor mount API (Linux 5.12+): open_tree(2),
// move_mount(2) and mount_setattr(2). mount(2) cannot change the flags of a
// whole subtree at once (rro, rnosuid...) nor give a mount an id mapping;
// these calls can. glibc does not wrap them on Debian 12: raw syscalls.
import { rawSyscall, syscallError, syscallNumber } from './libc';

/** MOUNT_ATTR_* bits of struct mount_attr's attr_set / attr_clr. */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  /** The three-valued atime field: clear it whole to set one of its values. */
  ATIME_MASK: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

export const AT_EMPTY_PATH = 0x1000;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_RECURSIVE = 0x8000;
export const OPEN_TREE_CLONE = 0x1;
export const OPEN_TREE_CLOEXEC = 0o2000000;
export const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
/** Follow a symlink (such as /proc/self/fd/N) that the target path ends in. */
export const MOVE_MOUNT_T_SYMLINKS = 0x10;
export const MOVE_MOUNT_T_EMPTY_PATH = 0x40;
const AT_FDCWD = -100;

export interface MountAttr {
  set: number;
  clear: number;
  propagation?: number;
  /** A user namespace fd, with MOUNT_ATTR.IDMAP in `set`. */
  usernsFd?: number;
}

/**
 * mount_setattr(2) on the mount at `path` (or on `dirFd` itself when `path`
 * is '' and AT_EMPTY_PATH is in `flags`). `shown` names the mount in errors.
 */
export function mountSetattr(dirFd: number | null, path: string, flags: number, attr: MountAttr, shown = path): void {
  const buf = Buffer.alloc(32);
  buf.writeBigUInt64LE(BigInt(attr.set), 0);
  buf.writeBigUInt64LE(BigInt(attr.clear), 8);
  buf.writeBigUInt64LE(BigInt(attr.propagation ?? 0), 16);
  buf.writeBigUInt64LE(BigInt(attr.usernsFd ?? 0), 24);
  const ret = rawSyscall(
    syscallNumber('mount_setattr'),
    'int', dirFd ?? AT_FDCWD,
    'const char *', path,
    'unsigned int', flags,
    'uint8_t *', buf,
    'size_t', buf.length,
  ) as number;
  if (ret < 0) throw syscallError('mount_setattr', shown);
}

/** open_tree(2): an fd for the mount at `path`, or (OPEN_TREE_CLONE) a detached copy of it. */
export function openTree(dirFd: number | null, path: string, flags: number, shown = path): number {
  const fd = rawSyscall(syscallNumber('open_tree'), 'int', dirFd ?? AT_FDCWD, 'const char *', path, 'unsigned int', flags) as number;
  if (fd < 0) throw syscallError('open_tree', shown);
  return fd;
}

/** move_mount(2): attaches the mount `fromFd` (a detached tree from openTree) onto `toPath`. */
export function moveMount(fromFd: number, toDirFd: number | null, toPath: string, flags: number, shown = toPath): void {
  const ret = rawSyscall(
    syscallNumber('move_mount'),
    'int', fromFd,
    'const char *', '',
    'int', toDirFd ?? AT_FDCWD,
    'const char *', toPath,
    'unsigned int', MOVE_MOUNT_F_EMPTY_PATH | flags,
  ) as number;
  if (ret < 0) throw syscallError('move_mount', shown);
}
