// linux.cgroupsPath -> directories. Absolute paths are taken from each
// hierarchy's root; relative ones (and the default, tsrun/<id>) are joined to
// the runtime's own cgroup on v1, and to its parent on a unified (v2) host,
// as runc does, so containers stay near the cgroup of whoever started tsrun.
// On v2 a cgroup that holds processes cannot enable controllers for its
// children ("no internal processes"), and the caller's own cgroup usually
// holds some: a root shell on a systemd host sits in the leaf
// /user.slice/user-0.slice/session-1.scope, a service in its .service. Its
// parent (user-0.slice) holds none, so the container's limits can apply
// there; runc 1.1 placed a container run from that shell at
// /user.slice/user-0.slice/<id>, measured in the project's VM.
import { posix } from 'node:path';
import { configError } from '../errors';
import type { CgroupLayout } from './detect';
import type { CgroupState } from './types';

export function cgroupSubPath(cgroupsPath: string | undefined, id: string, own: string): string {
  const wanted = cgroupsPath && cgroupsPath !== '' ? cgroupsPath : `tsrun/${id}`;
  if (wanted.includes(':')) {
    throw configError('/linux/cgroupsPath', `"${wanted}" is a systemd slice:prefix:name path; run with --systemd-cgroup`);
  }
  if (wanted.split('/').includes('..')) throw configError('/linux/cgroupsPath', `"${wanted}" must not climb out with ".."`);
  return wanted.startsWith('/') ? posix.normalize(wanted) : posix.join(own || '/', wanted);
}

/** Where the container's cgroup directories are, per hierarchy. */
export function resolveCgroupDirs(layout: CgroupLayout, cgroupsPath: string | undefined, id: string, own: Map<string, string>): CgroupState {
  if (layout.version === 'v2') {
    const mount = layout.unifiedMount as string;
    const base = posix.dirname(own.get('') ?? '/');
    return { version: 'v2', paths: { '': posix.join(mount, cgroupSubPath(cgroupsPath, id, base)) } };
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
