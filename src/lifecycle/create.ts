// `create`: validate the bundle, claim the id, make the init and leave it
// blocked on the exec fifo, record the state. On any failure nothing stays:
// no state directory, no process (the init is killed by spawn on error).
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, resolveRootfs } from '../spec/load';
import { OCI_VERSION } from '../spec/default-spec';
import { makePlan, hostIdsOfContainerRoot } from '../process/plan';
import { createExecFifo } from '../process/exec-fifo';
import { spawnContainerInit } from '../process/spawn';
import { readProcStat } from '../process/proc-info';
import { UserError } from '../errors';
import { EXEC_FIFO_NAME, StateStore, writeFileAtomic, type ContainerRecord } from './store';
import { withContainerLock } from './lock';
import { validateId } from './ids';
import { logWarning } from '../log/logger';
import { unmountContainerRootfs } from './host-mounts';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  noPivot?: boolean;
  preserveFds?: number;
}

export async function createContainer(opts: CreateOptions): Promise<ContainerRecord> {
  const id = validateId(opts.id);
  const bundle = resolve(opts.bundle);
  const spec = loadConfig(bundle);
  if (!spec.process) throw new UserError('config.json: /process: must be present to create a container');
  const store = new StateStore(opts.root);
  return withContainerLock(opts.root, id, async () => {
    const dir = store.claim(id);
    let mountsOnHost = false;
    try {
      const fifoPath = join(dir, EXEC_FIFO_NAME);
      const rootOwner = hostIdsOfContainerRoot(spec);
      createExecFifo(fifoPath, rootOwner.uid, rootOwner.gid);
      const rootfs = realpathSync(resolveRootfs(spec, bundle));
      const plan = makePlan(spec, {
        id,
        bundle,
        rootfs,
        fifoPath,
        noPivot: opts.noPivot ?? false,
        preserveFds: opts.preserveFds ?? 0,
        warn: logWarning,
      });
      mountsOnHost = !plan.hasMountNamespace;
      const pid = spawnContainerInit(plan);
      const record: ContainerRecord = {
        ociVersion: spec.ociVersion ?? OCI_VERSION,
        id,
        pid,
        initStartTime: readProcStat(pid)?.startTime ?? 0,
        bundle,
        rootfs,
        created: new Date().toISOString(),
        owner: '',
        annotations: spec.annotations,
        privatePidNamespace: plan.create.includes('pid'),
        mountsOnHost,
      };
      store.write(record);
      if (opts.pidFile) writeFileAtomic(resolve(opts.pidFile), String(pid));
      return record;
    } catch (err) {
      if (mountsOnHost) await unmountContainerRootfs(realpathSync(resolveRootfs(spec, bundle)));
      store.remove(id);
      throw err;
    }
  });
}
