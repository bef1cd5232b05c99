// Which cgroup layout this host has, read from /proc/self/mountinfo:
//  - unified: cgroup2 mounted at /sys/fs/cgroup (most current distributions);
//  - legacy or hybrid: v1 controllers each on their own mount (hybrid adds an
//    empty cgroup2, e.g. at /sys/fs/cgroup/unified, which holds no
//    controllers, so resources go to v1 there).
import { readFileSync } from 'node:fs';
import type { CgroupVersion } from './types';

export interface CgroupLayout {
  version: CgroupVersion;
  /** v2: the cgroup2 mount point. */
  unifiedMount?: string;
  /** v1: controller name (e.g. "cpu", "name=systemd") -> its mount point. */
  v1Mounts: Map<string, string>;
}

export function parseMountinfo(mountinfo: string): CgroupLayout {
  const v1Mounts = new Map<string, string>();
  let unifiedMount: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mountPoint = unescapeMountPath(line.slice(0, sep).split(' ')[4]);
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fstype === 'cgroup2') {
      if (mountPoint === '/sys/fs/cgroup' || unifiedMount === undefined) unifiedMount = mountPoint;
    } else if (fstype === 'cgroup') {
      for (const option of superOptions.split(',')) {
        if (option === 'rw' || option === 'ro' || option.startsWith('release_agent=') || option === 'clone_children' || option === 'noprefix' || option === 'xattr') continue;
        if (!v1Mounts.has(option)) v1Mounts.set(option, mountPoint);
      }
    }
  }
  const controllerMounts = [...v1Mounts.keys()].filter((c) => !c.startsWith('name='));
  const version: CgroupVersion = controllerMounts.length > 0 ? 'v1' : 'v2';
  return { version, unifiedMount, v1Mounts };
}

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

let cached: CgroupLayout | undefined;

export function hostCgroupLayout(): CgroupLayout {
  cached ??= parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  return cached;
}

/** This process' cgroup per v1 controller ("" key: the v2 path), from /proc/<pid>/cgroup. */
export function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === '') paths.set('', path);
    else for (const c of controllers.split(',')) paths.set(c, path);
  }
  return paths;
}

export function ownCgroups(): Map<string, string> {
  return parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
}
