// The one place that picks a container's cgroup driver: cgroupfs v1,
// cgroupfs v2 (cgroupfs.ts), or a systemd scope (systemd/scope.ts) over
// either. Chosen at create from the --systemd-cgroup flag, afterwards from
// the recorded CgroupState alone (kill, delete, update arrive without the
// flag): a state naming a scope unit is systemd's.
import type { Spec } from '../spec/types';
import type { CgroupState, ContainerCgroup } from './types';
import { CgroupfsV1, CgroupfsV2, planCgroupfs } from './cgroupfs';

/** Where the container's cgroup goes on this host, with the driver that will keep it. */
export function planContainerCgroup(spec: Spec, id: string, options: { systemdDriver?: boolean; rootless?: boolean } = {}): ContainerCgroup {
  return openContainerCgroup(options.systemdDriver ? systemdScopes().planSystemdScope(spec, id, options.rootless) : planCgroupfs(spec, id, options.rootless));
}

/** The driver of a planned or recorded cgroup; `state` is kept (and updated in place) by it. */
export function openContainerCgroup(state: CgroupState): ContainerCgroup {
  const cgroupfs = state.version === 'v1' ? new CgroupfsV1(state) : new CgroupfsV2(state);
  if (!state.systemd) return cgroupfs;
  return new (systemdScopes().SystemdScope)(state, state.systemd, cgroupfs);
}

/** Loaded on use: the systemd driver is for --systemd-cgroup containers alone. */
function systemdScopes(): typeof import('./systemd/scope') {
  return require('./systemd/scope') as typeof import('./systemd/scope');
}
