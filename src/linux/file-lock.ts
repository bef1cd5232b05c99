// Whole-file POSIX record locks (fcntl F_SETLK with a struct flock), the
// kind the kernel drops when the holding process dies, however it dies.
//
// Record locks, not flock(2): a record lock belongs to the process, so the
// children tsrun forks with fork() (stage 1, the init that waits for `start`
// for as long as the caller likes, hook runners) never hold it, whatever
// descriptors they inherit. A flock(2) lock belongs to the open file
// description, which fork() shares: a forgotten close in any child would keep
// the container locked after the command exits. The price of record locks:
// closing ANY descriptor of the file in the holding process drops its lock,
// so the file is only ever opened here, once per lock.
import { fstatSync, statSync } from 'node:fs';
import { syscallErrorOn } from '../errors';
import { libc, lastErrno, syscallError } from './libc';
import { closeFd, openFd, O_CLOEXEC, O_CREAT, O_RDWR } from './fd';
import { closeInForkedChildren, forkedChildrenMayKeep } from './fork';

const fcntl = libc.func('int fcntl(int fd, int cmd, ...)');
const unlink = libc.func('int unlink(const char *path)');

// The same values on x86_64 and arm64 (64-bit off_t, no F_SETLK64 split).
const F_SETLK = 6;
const F_WRLCK = 1;
const SEEK_SET = 0;
const EINTR = 4;
const EAGAIN = 11;
const EACCES = 13;

/**
 * struct flock for "write-lock the whole file": short l_type, short
 * l_whence, then off_t l_start and l_len at 8 and 16, pid_t l_pid at 24.
 * l_start = l_len = 0 covers the file from 0 to any length.
 */
function wholeFileWriteLock(): Buffer {
  const flock = Buffer.alloc(32);
  flock.writeInt16LE(F_WRLCK, 0);
  flock.writeInt16LE(SEEK_SET, 2);
  return flock;
}

/**
 * Opens (making it, 0600) the lock file `path`, close-on-exec. The
 * descriptor is closed first thing in every child forkChild() makes, so
 * that the waiting init and other helpers hold no descriptor of the
 * runtime's state root.
 */
export function openLockFile(path: string): number {
  const fd = openFd(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600);
  closeInForkedChildren(fd);
  return fd;
}

/** Closes a lock file's descriptor, which drops the lock this process holds on it. */
export function closeLockFile(fd: number): void {
  forkedChildrenMayKeep(fd);
  closeFd(fd);
}

/**
 * Write-locks the whole file without waiting: true when this process now
 * holds it, false when another process does; any other failure throws.
 */
export function tryLockFile(fd: number, path: string): boolean {
  if ((fcntl(fd, F_SETLK, 'const uint8_t *', wholeFileWriteLock()) as number) === 0) return true;
  const errno = lastErrno();
  // POSIX lets a held lock answer EACCES or EAGAIN; an interrupted call is tried again.
  if (errno === EAGAIN || errno === EACCES || errno === EINTR) return false;
  throw syscallError('fcntl(F_SETLK)', path, errno);
}

/**
 * True when `fd` is still the file at `path` (same device and inode): false
 * once the path was unlinked, or unlinked and made again, by the holder
 * this process waited for.
 */
export function isFileAtPath(fd: number, path: string): boolean {
  let held;
  let named;
  try {
    held = fstatSync(fd, { bigint: true });
    named = statSync(path, { bigint: true, throwIfNoEntry: false });
  } catch (err) {
    throw syscallErrorOn(err, path);
  }
  return named !== undefined && named.dev === held.dev && named.ino === held.ino;
}

/** unlink(2); a path already gone is no error. */
export function unlinkFile(path: string): void {
  if ((unlink(path) as number) === 0 || lastErrno() === 2 /* ENOENT */) return;
  throw syscallError('unlink', path);
}
