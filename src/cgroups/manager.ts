// Picking and re-opening the cgroup manager of a container.
import { rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Spec } from '../spec/types';
import { existsSync } from 'node:fs';
import { UserError } from '../errors';
import type { CgroupManager, CgroupState } from './types';
import { hostCgroupLayout, ownCgroups } from './detect';
import { resolveCgroupDirs } from './paths';
import { V1Manager } from './v1/manager';
import { V2Manager } from './v2/manager';
import { applyV2DeviceRules } from './devices/apply-v2';

/** Where the container's cgroup goes on this host. */
export function planCgroup(spec: Spec, id: string, systemdDriver = false): CgroupState {
  if (systemdDriver) refuseSystemdDriver();
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

/**
 * --systemd-cgroup asks for the container's cgroup as a systemd scope under a
 * slice (slice:prefix:name paths). Without systemd there is nobody to ask;
 * with it, making scopes over D-Bus is not written yet. Either way: say so.
 */
function refuseSystemdDriver(): void {
  if (!existsSync('/run/systemd/system')) {
    throw new UserError('--systemd-cgroup: systemd is not running on this host (no /run/systemd/system): use the cgroupfs driver (drop --systemd-cgroup)');
  }
  throw new UserError('--systemd-cgroup: creating systemd scopes is not supported yet: use the cgroupfs driver (drop --systemd-cgroup)');
}
