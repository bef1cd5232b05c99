// One lock per container id, held for the whole of a state-changing command:
// a POSIX record lock on <root>/<id>.lock (linux/file-lock.ts), which the
// kernel drops the moment its holder dies, SIGKILL included, so a killed
// command never leaves the id locked. Read-only verbs (state, list, ps,
// events) take none: state.json only ever changes by rename.
//
// Only "held by another command" is waited out, polling with a short
// backoff; any other failure (a state root this user may not write, say)
// is permanent and reported at once.
//
// Record locks do not exclude within one process, and closing any descriptor
// of the file drops the process' lock: one tsrun process takes one id's lock
// at a time (run's create, start and delete take it in turn, never nested).
//
// The holder unlinks the lock file before it lets go, so no file stays
// behind. A command that opened the file before that and then gets the lock
// holds it on an unlinked inode: it sees that (the path is gone or names
// another file) and starts again on the path.
import { UserError } from '../errors';
import { closeLockFile, isFileAtPath, openLockFile, tryLockFile, unlinkFile } from '../linux/file-lock';
import { stateRootHint } from './rootless';
import { ensureStateRoot, lockFilePath } from './store';

/** How long a command waits for another one on the same container. */
const LOCK_WAIT_MS = 100_000;

export async function withContainerLock<T>(root: string, id: string, work: () => T | Promise<T>): Promise<T> {
  ensureStateRoot(root);
  const path = lockFilePath(root, id);
  const fd = await acquire(root, id, path);
  try {
    return await work();
  } finally {
    release(fd, path);
  }
}

async function acquire(root: string, id: string, path: string): Promise<number> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 1; ; ) {
    const fd = lockOnce(root, path);
    if (typeof fd === 'number') return fd;
    if (Date.now() > deadline) throw new UserError(`container ${id} is busy: another tsrun command has held its lock for ${LOCK_WAIT_MS / 1000} s`);
    if (fd === 'stale') continue;
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(50, Math.ceil(wait * 1.5));
  }
}

/**
 * One attempt: the locked descriptor, 'busy' while another process holds
 * the lock, or 'stale' when the lock taken was on a file its holder had
 * unlinked meanwhile (to be tried again at once).
 */
function lockOnce(root: string, path: string): number | 'busy' | 'stale' {
  let fd: number;
  try {
    fd = openLockFile(path);
  } catch (err) {
    throw new UserError(`${(err as Error).message}${stateRootHint(root)}`, { cause: err });
  }
  let outcome: number | 'busy' | 'stale' = 'busy';
  try {
    if (tryLockFile(fd, path)) outcome = isFileAtPath(fd, path) ? fd : 'stale';
  } catch (err) {
    closeLockFile(fd);
    throw new UserError(`${(err as Error).message}${stateRootHint(root)}`, { cause: err });
  }
  if (outcome !== fd) closeLockFile(fd);
  return outcome;
}

/**
 * Unlinked while still held, then closed (which drops the lock). A failed
 * unlink only leaves an empty file that the next command reuses: it is not
 * worth failing a command that did its work.
 */
function release(fd: number, path: string): void {
  try {
    unlinkFile(path);
  } catch {
    // the lock itself still goes with the close
  }
  closeLockFile(fd);
}
