// `delete`: remove a stopped container; with --force kill it first.
import { UserError } from '../errors';
import { sendSignal } from '../linux/signals';
import { waitUntilGone } from '../linux/proc-info';
import { Container } from './container';
import { StateStore } from './store';
import { withContainerLock } from './lock';
import { runLateHooks } from '../hooks/late-hooks';
import { unmountContainerRootfs } from './host-mounts';
import { openContainerCgroup } from '../cgroups/manager';
import type { CgroupState } from '../cgroups/types';
import { signalCgroup } from './kill';
import { removeRecordedIntelRdt } from '../resctrl/group';

export async function deleteContainer(root: string, id: string, force: boolean): Promise<void> {
  const store = new StateStore(root);
  if (force && !store.hasTraces(id)) return;
  await withContainerLock(root, id, async () => {
    // A create killed before its first write leaves a directory without
    // state.json (or only the lock file, which the lock's release removes).
    if (force && !store.exists(id)) return store.remove(id);
    const container = Container.load(store, id);
    const status = container.status();
    if (status !== 'stopped') {
      if (!force) throw new UserError(`cannot delete container ${id} that is not stopped: ${status}`);
      // 'creating' with pid 0 was left by a create killed before the init's
      // fork: the cgroup step below takes what it forked. With a pid, the
      // init lives (status() checked it) and goes like any other.
      if (container.record.pid > 0) killAndWait(container);
    }
    if (container.record.cgroup) emptyAndRemoveCgroup(container.record.cgroup);
    const rdt = container.record.intelRdt;
    if (rdt) removeRecordedIntelRdt(rdt);
    if (container.record.mountsOnHost) await unmountContainerRootfs(container.record.rootfs);
    store.remove(id);
    await runLateHooks('poststop', container.record, 'stopped');
  });
}

export function killAndWait(container: Container): void {
  sendSignal(container.record.pid, 9);
  // A paused (frozen) init only acts on the SIGKILL once thawed.
  if (container.record.cgroup) {
    const cgroup = openContainerCgroup(container.record.cgroup).files();
    if (cgroup.isFrozen()) cgroup.thaw();
  }
  if (!waitUntilGone(container.record.pid)) {
    throw new UserError(`container ${container.id}: init process ${container.record.pid} did not die after SIGKILL`);
  }
}

/**
 * Whatever is left in the cgroup belongs to the container (without a pid
 * namespace of its own, its processes outlive the init): kill it, then
 * remove the cgroup.
 */
function emptyAndRemoveCgroup(state: CgroupState): void {
  const cgroup = openContainerCgroup(state);
  const files = cgroup.files();
  for (let round = 0; round < 100; round++) {
    const pids = files.pids();
    if (pids.length === 0) break;
    signalCgroup(files, 9);
    pids.forEach((pid) => waitUntilGone(pid, 1000));
  }
  cgroup.destroy();
}
