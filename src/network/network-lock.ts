// One ADD or DEL at a time per network on this host, as podman's netavark
// and containerd (within its one process) serialise theirs. The plugins
// make what a network's containers share (the bridge, the CNI-FORWARD,
// CNI-ADMIN and CNI-HOSTPORT chains) on first use by looking, then making:
// two first uses at once could both make. A POSIX record lock on
// <network dir>/<name>.lock (the kernel drops it when its holder dies); the
// file stays, so that no waiter ever locks an unlinked inode.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors';
import { closeLockFile, openLockFile, tryLockFile } from '../linux/file-lock';
import { sleepMs } from '../linux/sleep';

/** Longer than any one network's plugins take (each is bounded by its own timeout), times a queue of them. */
const WAIT_MS = 300_000;

export function withNetworkLock<T>(stateDir: string, network: string, work: () => T): T {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, `${network}.lock`);
  const fd = openLockFile(path);
  try {
    const deadline = Date.now() + WAIT_MS;
    for (let wait = 1; !tryLockFile(fd, path); wait = Math.min(wait * 2, 50)) {
      if (Date.now() > deadline) throw new UserError(`network "${network}": another tsrun held ${path} for ${WAIT_MS / 1000} s`);
      sleepMs(wait);
    }
    return work();
  } finally {
    closeLockFile(fd);
  }
}
