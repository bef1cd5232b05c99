// One lock per container id, held for the whole of a state-changing command.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { lock } from 'proper-lockfile';
import { validateId } from './ids';

export async function withContainerLock<T>(root: string, id: string, work: () => T | Promise<T>): Promise<T> {
  mkdirSync(root, { recursive: true, mode: 0o711 });
  const release = await lock(join(root, validateId(id)), {
    realpath: false,
    lockfilePath: join(root, `${id}.lock`),
    stale: 60000,
    retries: { retries: 2000, factor: 1.2, minTimeout: 2, maxTimeout: 50 },
  });
  try {
    return await work();
  } finally {
    await release().catch(() => undefined);
  }
}
