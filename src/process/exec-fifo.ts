// The exec fifo: the created init blocks opening it for writing until
// `tsrun start` opens it for reading. DESIGN.md 1.9: mode 0622, owned by the
// container's root, opened O_PATH before pivot_root and reopened through
// /proc/self/fd afterwards, when its host path is out of sight.
import { rmSync } from 'node:fs';
import { closeFd, makeFifo, openFd, readFd, writeFd, chownPath, O_CLOEXEC, O_PATH, O_RDONLY, O_NONBLOCK, O_WRONLY } from '../linux/fd';
import { UserError } from '../errors';
import { sleepMs } from './proc-info';

export function createExecFifo(path: string, rootUid: number, rootGid: number): void {
  const previous = process.umask(0);
  try {
    makeFifo(path, 0o622);
  } finally {
    process.umask(previous);
  }
  chownPath(path, rootUid, rootGid);
}

/** In the init, before the root switch: a handle that survives pivot_root. */
export function holdExecFifo(path: string): number {
  return openFd(path, O_PATH | O_CLOEXEC);
}

/** In the init, last step before exec: blocks until `start`. */
export function waitForStart(heldFd: number): void {
  const fd = openFd(`/proc/self/fd/${heldFd}`, O_WRONLY | O_CLOEXEC);
  writeFd(fd, '0');
  closeFd(fd);
  closeFd(heldFd);
}

/**
 * In `tsrun start`: lets the init go. `initAlive` is asked while no writer has
 * connected yet, so a dead init is reported instead of waited for forever.
 */
export function releaseExecFifo(path: string, initAlive: () => boolean): void {
  let fd: number;
  try {
    fd = openFd(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  } catch {
    throw new UserError('cannot start an already running container');
  }
  try {
    for (;;) {
      const data = readOrAgain(fd);
      if (data !== null && data.length > 0) break;
      // EOF: the init has not opened its end yet (or died); EAGAIN: opened, not yet written.
      if (data !== null && !initAlive()) throw new UserError('cannot start container: its init process has exited');
      sleepMs(1);
    }
  } finally {
    closeFd(fd);
  }
  rmSync(path, { force: true });
}

function readOrAgain(fd: number): Buffer | null {
  try {
    return readFd(fd, 1);
  } catch (err) {
    if ((err as { errnoName?: string }).errnoName === 'EAGAIN') return null;
    throw err;
  }
}
