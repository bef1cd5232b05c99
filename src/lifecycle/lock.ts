// One lock per container id, held for the whole of a state-changing command.
// Only "held by another command" is waited out; any other failure (a state
// root this user may not write, say) is permanent and reported at once.
import { join } from 'node:path';
import { lock } from 'proper-lockfile';
import { UserError } from '../errors';
import { validateId } from './ids';
import { stateRootHint } from './rootless';
import { ensureStateRoot } from './store';

/** How long a command waits for another one on the same container. */
const LOCK_WAIT_MS = 100_000;

export async function withContainerLock<T>(root: string, id: string, work: () => T | Promise<T>): Promise<T> {
  ensureStateRoot(root);
  const release = await acquire(root, validateId(id));
  try {
    return await work();
  } finally {
    await release().catch(() => undefined);
  }
}

async function acquire(root: string, id: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 2; ; wait = Math.min(50, Math.ceil(wait * 1.2))) {
    try {
      return await lock(join(root, id), { realpath: false, lockfilePath: join(root, `${id}.lock`), stale: 60000, retries: 0 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'ELOCKED') throw new UserError(`lock ${join(root, `${id}.lock`)}: ${e.code ?? e.message}${stateRootHint(root)}`);
      if (Date.now() > deadline) throw new UserError(`container ${id} is busy: another tsrun command has held its lock for ${LOCK_WAIT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
