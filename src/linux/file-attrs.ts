// What Node's fs module cannot copy from one file to another: extended
// attributes, nanosecond times on a path without following a final symlink,
// and special files (device nodes, fifos, sockets) with their device number.
// Used to fill a tmpfs with what it covers (tmpcopyup).
import { check, lastErrno, libc, syscallError } from './libc';

const c = {
  llistxattr: libc.func('long llistxattr(const char *path, _Out_ uint8_t *list, size_t size)'),
  lgetxattr: libc.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)'),
  lsetxattr: libc.func('int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)'),
  utimensat: libc.func('int utimensat(int dirfd, const char *path, const uint8_t *times, int flags)'),
  mknod: libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
};

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const ERANGE = 34;
const EOPNOTSUPP = 95;

/**
 * The names of `path`'s extended attributes (the link's own for a symlink);
 * none where the filesystem keeps none. `shown` names the path in errors.
 */
export function listXattrs(path: string, shown = path): string[] {
  for (;;) {
    const size = c.llistxattr(path, null, 0) as number;
    if (size < 0 && lastErrno() === EOPNOTSUPP) return [];
    check(size, 'llistxattr', shown);
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const got = c.llistxattr(path, buf, size) as number;
    // The list grew between the two calls: ask again.
    if (got < 0 && lastErrno() === ERANGE) continue;
    check(got, 'llistxattr', shown);
    return buf.subarray(0, got).toString('latin1').split('\0').filter((n) => n !== '');
  }
}

/** The value of attribute `name` of `path` (not following a final symlink). */
export function getXattr(path: string, name: string, shown = path): Buffer {
  for (;;) {
    const size = check(c.lgetxattr(path, name, null, 0) as number, 'lgetxattr', `${shown}, ${name}`);
    const buf = Buffer.alloc(size);
    const got = c.lgetxattr(path, name, buf, size) as number;
    if (got < 0 && lastErrno() === ERANGE) continue;
    check(got, 'lgetxattr', `${shown}, ${name}`);
    return buf.subarray(0, got);
  }
}

/** Sets attribute `name` of `path` (not following a final symlink). */
export function setXattr(path: string, name: string, value: Buffer, shown = path): void {
  check(c.lsetxattr(path, name, value, value.length, 0) as number, 'lsetxattr', `${shown}, ${name}`);
}

/** Sets access and modification times, in nanoseconds since the epoch, of `path` itself (a symlink too). */
export function setPathTimes(path: string, atimeNs: bigint, mtimeNs: bigint, shown = path): void {
  const times = Buffer.alloc(32);
  times.writeBigInt64LE(atimeNs / 1_000_000_000n, 0);
  times.writeBigInt64LE(atimeNs % 1_000_000_000n, 8);
  times.writeBigInt64LE(mtimeNs / 1_000_000_000n, 16);
  times.writeBigInt64LE(mtimeNs % 1_000_000_000n, 24);
  check(c.utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) as number, 'utimensat', shown);
}

/** mknod(2) with `mode` carrying the file type and `rdev` as stat(2) reports it. */
export function makeSpecialFile(path: string, mode: number, rdev: bigint, shown = path): void {
  if ((c.mknod(path, mode, rdev) as number) < 0) throw syscallError('mknod', shown);
}
