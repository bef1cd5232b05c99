// Picking and re-opening the cgroup manager of a container.
import { rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Spec } from '../spec/types';
import type { CgroupManager, CgroupState } from './types';
import { hostCgroupLayout, ownCgroups } from './detect';
import { resolveCgroupDirs } from './paths';
import { V1Manager } from './v1/manager';
import { V2Manager } from './v2/manager';
import { applyV2DeviceRules } from './devices/apply-v2';

/** Where the container's cgroup goes on this host. */
export function planCgroup(spec: Spec, id: string): CgroupState {
  const state = resolveCgroupDirs(hostCgroupLayout(), spec.linux?.cgroupsPath, id, ownCgroups());
  // The default path is tsrun/<id>: the tsrun level is ours to remove when it empties.
  if (!spec.linux?.cgroupsPath) state.removeEmptyParent = true;
  return state;
}

export function openCgroup(state: CgroupState): CgroupManager {
  if (state.version === 'v1') return new V1Manager(state.paths);
  const mount = hostCgroupLayout().unifiedMount ?? '/sys/fs/cgroup';
  return new V2Manager(state.paths[''], mount, applyV2DeviceRules);
}

/** Removes the container's cgroup and, for the default path, the shared tsrun level if now empty. */
export function destroyCgroup(state: CgroupState): void {
  openCgroup(state).destroy();
  if (!state.removeEmptyParent) return;
  for (const dir of new Set(Object.values(state.paths).map((d) => dirname(d)))) {
    try {
      rmdirSync(dir);
    } catch {
      // another container still uses it, or it is already gone
    }
  }
}
