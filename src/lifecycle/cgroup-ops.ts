// The commands that act on a container through its cgroup: pause, resume,
// update, ps and events.
import { ConfigError, configError, UserError } from '../errors';
import { checkResources, recordedTree, writeSchemata, type IntelRdtState } from '../resctrl/group';
import type { ResctrlTree } from '../resctrl/tree';
import type { SchemataLine } from '../resctrl/schemata';
import type { LinuxResources } from '../spec/types';
import type { CgroupManager, CgroupStats, ContainerCgroup } from '../cgroups/types';
import { openContainerCgroup } from '../cgroups/manager';
import { Container } from './container';
import { StateStore } from './store';
import { withContainerLock } from './lock';
import { processesWithoutCgroup } from './processes';

function cgroupOf(container: Container): ContainerCgroup {
  if (!container.record.cgroup) {
    throw new UserError(`container ${container.id} has no cgroup: it was created rootless where its user may not make one (pause, resume, update and stats need a cgroup delegated to the user)`);
  }
  return openContainerCgroup(container.record.cgroup);
}

export async function pauseContainer(root: string, id: string): Promise<void> {
  const store = new StateStore(root);
  await withContainerLock(root, id, () => {
    const container = Container.load(store, id);
    const status = container.status();
    if (status !== 'running' && status !== 'created') throw new UserError('container not running');
    cgroupOf(container).files().freeze();
  });
}

export async function resumeContainer(root: string, id: string): Promise<void> {
  const store = new StateStore(root);
  await withContainerLock(root, id, () => {
    const container = Container.load(store, id);
    if (container.status() !== 'paused') throw new UserError('container not paused');
    cgroupOf(container).files().thaw();
  });
}

/**
 * Applies the given resources to a live container; fields left out keep their
 * values. Device rules are only rewritten when the update gives some: without
 * that, rewriting them would drop the config's own rules for the defaults.
 */
export async function updateContainer(root: string, id: string, resources: LinuxResources, schemata?: SchemataUpdate): Promise<void> {
  const store = new StateStore(root);
  await withContainerLock(root, id, () => {
    const container = Container.load(store, id);
    if (container.status() === 'stopped') throw new UserError('container not running');
    // Checked before either is changed: a refused schemata line leaves the cgroup as it was.
    const rdt = schemata && planSchemataUpdate(container, schemata);
    if (Object.keys(resources).length > 0) {
      const cgroup = cgroupOf(container);
      checkMemoryBeforeUpdate(cgroup.files(), resources);
      cgroup.update(resources);
    }
    if (rdt) writeSchemata(rdt.state, rdt.lines, rdt.tree);
  });
}

/** `update --l3-cache-schema S --mem-bw-schema S` (runc's flags). */
export interface SchemataUpdate {
  l3CacheSchema?: string;
  memBwSchema?: string;
}

function planSchemataUpdate(container: Container, update: SchemataUpdate): { state: IntelRdtState; tree: ResctrlTree; lines: SchemataLine[] } {
  const state = container.record.intelRdt;
  if (!state) throw new UserError(`container ${container.id} has no resctrl group (its config.json has no linux.intelRdt): --l3-cache-schema and --mem-bw-schema need one`);
  const tree = recordedTree(state);
  // Named by flag, as the user wrote them here, not in config.json.
  const lines = [
    ...(update.l3CacheSchema ? [{ line: update.l3CacheSchema.trim(), pointer: '--l3-cache-schema' }] : []),
    ...(update.memBwSchema ? [{ line: update.memBwSchema.trim(), pointer: '--mem-bw-schema' }] : []),
  ];
  try {
    checkResources(lines, tree);
  } catch (err) {
    throw err instanceof ConfigError ? new UserError(`${err.pointer}: ${err.detail}`) : err;
  }
  return { state, tree, lines };
}

/** memory.checkBeforeUpdate: refuse a limit below what the container already uses. */
function checkMemoryBeforeUpdate(cgroup: CgroupManager, resources: LinuxResources): void {
  const memory = resources.memory;
  if (!memory?.checkBeforeUpdate || memory.limit === undefined || memory.limit < 0) return;
  const usage = cgroup.stats().memory.usage.usage;
  if (memory.limit <= usage) {
    throw configError('/linux/resources/memory/limit', `${memory.limit} is not above the current usage ${usage}`);
  }
}

export function containerPids(root: string, id: string): number[] {
  const container = Container.load(new StateStore(root), id);
  if (container.record.cgroup) return cgroupOf(container).files().pids();
  return container.status() === 'stopped' ? [] : processesWithoutCgroup(container.record);
}

export interface StatsEvent {
  type: 'stats';
  id: string;
  data: CgroupStats;
}

export function containerStats(root: string, id: string): StatsEvent {
  const container = Container.load(new StateStore(root), id);
  if (container.status() === 'stopped') throw new UserError('container not running');
  return { type: 'stats', id, data: cgroupOf(container).files().stats() };
}

/** The kernel's count of OOM kills in the container's cgroup (for `events` to report new ones). */
export function oomKillCount(root: string, id: string): number {
  const container = Container.load(new StateStore(root), id);
  return cgroupOf(container).files().oomKills();
}
