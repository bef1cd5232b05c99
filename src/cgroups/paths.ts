// linux.cgroupsPath -> directories. Absolute paths are taken from each
// hierarchy's root; relative ones (and the default, tsrun/<id>) are joined to
// the runtime's own cgroup, as runc does, so containers stay inside the
// cgroup of whoever started tsrun.
import { posix } from 'node:path';
import { UserError } from '../errors';
import type { CgroupLayout } from './detect';
import type { CgroupState } from './types';

export function cgroupSubPath(cgroupsPath: string | undefined, id: string, own: string): string {
  const wanted = cgroupsPath && cgroupsPath !== '' ? cgroupsPath : `tsrun/${id}`;
  if (wanted.includes(':')) {
    throw new UserError(`config.json: /linux/cgroupsPath: "${wanted}" is a systemd slice:prefix:name path; run with --systemd-cgroup`);
  }
  if (wanted.split('/').includes('..')) throw new UserError(`config.json: /linux/cgroupsPath: "${wanted}" must not climb out with ".."`);
  return wanted.startsWith('/') ? posix.normalize(wanted) : posix.join(own || '/', wanted);
}

/** Where the container's cgroup directories are, per hierarchy. */
export function resolveCgroupDirs(layout: CgroupLayout, cgroupsPath: string | undefined, id: string, own: Map<string, string>): CgroupState {
  if (layout.version === 'v2') {
    const mount = layout.unifiedMount as string;
    return { version: 'v2', paths: { '': posix.join(mount, cgroupSubPath(cgroupsPath, id, own.get('') ?? '/')) } };
  }
  const paths: Record<string, string> = {};
  const seenMounts = new Set<string>();
  for (const [controller, mount] of layout.v1Mounts) {
    if (controller.startsWith('name=') && controller !== 'name=systemd') continue;
    // Co-mounted controllers (cpu,cpuacct) share one directory: keep one entry per mount.
    const dir = posix.join(mount, cgroupSubPath(cgroupsPath, id, own.get(controller) ?? '/'));
    paths[controller] = dir;
    seenMounts.add(mount);
  }
  // A hybrid host's cgroup2 hierarchy holds no controllers but still tracks
  // processes: the container gets its own directory there too, so a cgroup
  // namespace roots it there (an init system inside writes below it, never
  // in the host's root) and /proc/<pid>/cgroup's 0:: line names it.
  if (layout.unifiedMount) paths[''] = posix.join(layout.unifiedMount, cgroupSubPath(cgroupsPath, id, own.get('') ?? '/'));
  return { version: 'v1', paths };
}
