// Whether a container's cgroup is frozen, read without loading the managers:
// `state` and `list` ask it for every running container.
import { readFileSync } from 'node:fs';
import type { CgroupState } from './types';

export function isCgroupFrozen(state: CgroupState): boolean {
  try {
    if (state.version === 'v2') return readFileSync(`${state.paths['']}/cgroup.freeze`, 'utf8').trim() === '1';
    const freezer = state.paths.freezer;
    return freezer !== undefined && readFileSync(`${freezer}/freezer.state`, 'utf8').trim() !== 'THAWED';
  } catch {
    return false;
  }
}
