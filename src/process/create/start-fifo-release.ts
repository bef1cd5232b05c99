// The `start` side of the exec fifo, with Node's fs only: `start` then never
// loads koffi.
import { closeSync, constants, openSync, readSync, rmSync } from 'node:fs';
import { UserError } from '../../errors';
import { sleepMs } from '../../linux/sleep';

/**
 * Lets the created init go. `initAlive` is asked while no writer has
 * connected yet, so a dead init is reported instead of waited for forever.
 */
export function releaseExecFifo(path: string, initAlive: () => boolean): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    throw new UserError('cannot start an already running container');
  }
  try {
    const byte = Buffer.alloc(1);
    // The init is usually scheduled within a fraction of a millisecond:
    // short waits first, then 1 ms ones.
    for (let wait = 0.05; ; wait = Math.min(1, wait * 2)) {
      const got = readOrAgain(fd, byte);
      if (got === 1) break;
      // 0 (EOF): the init has not opened its end yet, or died; null (EAGAIN): opened, not yet written.
      if (got === 0 && !initAlive()) throw new UserError('cannot start container: its init process has exited');
      sleepMs(wait);
    }
  } finally {
    closeSync(fd);
  }
  rmSync(path, { force: true });
}

function readOrAgain(fd: number, buf: Buffer): number | null {
  try {
    return readSync(fd, buf, 0, 1, null);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return null;
    throw err;
  }
}
