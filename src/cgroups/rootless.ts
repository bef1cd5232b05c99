// Rootless cgroups (docs/rootless-research.md §3): a user may lack the
// right to make a cgroup where the container's would go. On the default
// path (no linux.cgroupsPath) that is forgiven, per hierarchy, as runc
// forgives it: the container runs without a cgroup of its own there, so
// long as it asks for no limit that needs one. A cgroupsPath the user named
// is never forgiven.
import { configError, UserError } from '../errors';
import type { LinuxResources } from '../spec/types';
import { mkdirWithRetry } from './v1/manager';

const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

export function isPermissionError(err: unknown): boolean {
  const e = err as { code?: string };
  return PERMISSION_CODES.has(e?.code ?? '');
}

/**
 * The hierarchies that only track processes and hold no limit: v1's
 * name=systemd, and a hybrid host's empty cgroup2 (''). runc lets joining
 * them fail for everyone; tsrun, only for a rootless container.
 */
export function isTrackingOnly(version: 'v1' | 'v2', controller: string): boolean {
  return version === 'v1' && (controller === '' || controller.startsWith('name='));
}

/**
 * Makes each distinct directory of `paths`. One the user may not make is
 * dropped from `paths` (every controller sharing it) when `forgive` says so
 * for those controllers; otherwise the failure is an error naming it.
 * Returns the first forgiven failure, or undefined when none was.
 */
export function makeDirsOrDrop(version: 'v1' | 'v2', paths: Record<string, string>, forgive: (controllers: string[]) => boolean): string | undefined {
  let firstDenied: string | undefined;
  for (const dir of new Set(Object.values(paths))) {
    try {
      mkdirWithRetry(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      const what = `mkdir ${dir}: ${code}`;
      const controllers = Object.keys(paths).filter((c) => paths[c] === dir);
      if (!PERMISSION_CODES.has(code) || !forgive(controllers)) {
        const hint = PERMISSION_CODES.has(code) ? ' (a rootless container may name only a cgroupsPath its user can write)' : '';
        throw new UserError(`cgroup: ${what}${hint}`);
      }
      // Losing a tracking-only hierarchy costs no limit: not worth refusing one for.
      if (!controllers.every((c) => isTrackingOnly(version, c))) firstDenied ??= what;
      for (const controller of controllers) delete paths[controller];
    }
  }
  return firstDenied;
}

/**
 * The JSON pointer of the first limit `resources` sets (device rules aside,
 * which the user namespace enforces without a cgroup), or undefined.
 */
export function firstLimitField(resources: LinuxResources, at = '/linux/resources'): string | undefined {
  for (const [key, value] of Object.entries(resources as Record<string, unknown>)) {
    if (at === '/linux/resources' && key === 'devices') continue;
    const pointer = `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (value === undefined || value === null || value === 0 || value === false || value === '') continue;
    if (Array.isArray(value)) {
      if (value.length > 0) return `${pointer}/0`;
      continue;
    }
    if (typeof value === 'object') {
      const inner = firstLimitField(value as LinuxResources, pointer);
      if (inner !== undefined) return inner;
      continue;
    }
    return pointer;
  }
  return undefined;
}

/** The error for a limit asked of a rootless container that could not have a cgroup. */
export function limitWithoutCgroup(field: string, denied: string): Error {
  return configError(field, `cannot be applied: this rootless container has no cgroup of its own (${denied}); leave the limit out, or run it in a cgroup delegated to the user`);
}
