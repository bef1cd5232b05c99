// `exec --cgroup`: an exec'd process may join an existing sub-cgroup of the
// container's cgroup instead of its top. The paths are relative to the
// container's cgroup and may not leave it; on cgroup v1 each controller may
// have its own, on v2 there is one directory for all.
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { UserError } from '../errors';
import type { CgroupState } from './types';

/** Controller name (v1) or '' (every controller, and v2) -> path relative to the container's cgroup. */
export type SubCgroupPaths = Record<string, string>;

/**
 * The directories an exec'd process joins, controller -> directory: the
 * container's own, with the sub-cgroups asked for. Refuses a path outside
 * the container's cgroup, a controller the container has no cgroup for, a
 * controller named on v2, and a sub-cgroup that does not exist.
 */
export function execCgroupDirs(state: CgroupState, sub: SubCgroupPaths): Record<string, string> {
  const dirs = { ...state.paths };
  for (const [controller, relative] of Object.entries(sub)) {
    if (controller === '') {
      for (const c of Object.keys(dirs)) dirs[c] = below(state.paths[c], relative);
      continue;
    }
    if (state.version === 'v2') {
      throw new UserError(`sub-cgroup ${controller}:${relative}: controllers are named on cgroup v1 only; this container's cgroup is v2 (give the path alone)`);
    }
    const base = state.paths[controller];
    if (base === undefined) {
      throw new UserError(`sub-cgroup ${controller}:${relative}: unknown controller ${controller} (the container's cgroup has ${Object.keys(state.paths).filter(Boolean).sort().join(', ')})`);
    }
    dirs[controller] = below(base, relative);
  }
  for (const dir of new Set(Object.values(dirs))) {
    if (!existsSync(dir)) throw new UserError(`sub-cgroup ${dir} does not exist`);
  }
  return dirs;
}

/** `relative` under `base`; '' and '/' are the base itself. */
function below(base: string, relative: string): string {
  const dir = posix.resolve(base, `./${relative}`);
  if (dir !== base && !dir.startsWith(base + '/')) throw new UserError(`bad sub cgroup path: ${relative} (outside the container's cgroup ${base})`);
  return dir;
}

/** Whether any sub-cgroup was asked for (then the v2 fallback to the init's cgroup is off, as runc's). */
export function hasSubCgroups(sub: SubCgroupPaths | undefined): sub is SubCgroupPaths {
  return sub !== undefined && Object.keys(sub).length > 0;
}
