// `start`: release the created init through its exec fifo.
import { UserError } from '../errors';
import { releaseExecFifo } from '../process/create/start-fifo-release';
import { Container } from './container';
import { StateStore } from './store';
import { withContainerLock } from './lock';
import { runLateHooks } from '../hooks/late-hooks';

export async function startContainer(root: string, id: string): Promise<void> {
  const store = new StateStore(root);
  await withContainerLock(root, id, async () => {
    const container = Container.load(store, id);
    const status = container.status();
    if (status === 'stopped') throw new UserError('cannot start a container that has stopped');
    // Left so by a create that was killed (a live one holds the lock): only delete --force helps.
    if (status === 'creating') throw new UserError('cannot start a container that is still being created');
    if (status !== 'created') throw new UserError(`cannot start an already running container`);
    releaseExecFifo(container.fifoPath, () => container.initAlive());
    await runLateHooks('poststart', container.record, 'running');
  });
}
