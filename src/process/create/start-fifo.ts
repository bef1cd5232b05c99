// The exec fifo: the created init blocks opening it for writing until
// `tsrun start` opens it for reading. docs/architecture.md §6.9: mode 0622, owned by the
// container's root, opened O_PATH before pivot_root and reopened through
// /proc/self/fd afterwards, when its host path is out of sight. The `start`
// side is in start-fifo-release.ts, which needs no koffi.
import { SyscallError } from '../../errors';
import { closeFd, makeFifo, openFd, writeFd, chownPath, O_CLOEXEC, O_PATH, O_WRONLY } from '../../linux/fd';

export function createExecFifo(path: string, rootUid: number, rootGid: number): void {
  const previous = process.umask(0);
  try {
    makeFifo(path, 0o622);
  } finally {
    process.umask(previous);
  }
  try {
    chownPath(path, rootUid, rootGid);
  } catch (err) {
    // A user may not give a file away to a subordinate id: the fifo stays
    // theirs, and its mode already lets the container's root write it.
    if (!(err instanceof SyscallError && err.errnoName === 'EPERM' && process.geteuid?.() !== 0)) throw err;
  }
}

/** In the init, before the root switch: a handle that survives pivot_root. */
export function holdExecFifo(path: string): number {
  return openFd(path, O_PATH | O_CLOEXEC);
}

/** In the init, last step before exec: blocks until `start`. `beforeBlocking` runs just before the blocking open. */
export function waitForStart(heldFd: number, beforeBlocking?: () => void): void {
  const path = `/proc/self/fd/${heldFd}`;
  beforeBlocking?.();
  const fd = openFd(path, O_WRONLY | O_CLOEXEC);
  writeFd(fd, '0');
  closeFd(fd);
  closeFd(heldFd);
}
