// Shared by the cgroups-*.test.ts suites: where a container's cgroup
// directories are on this host - cgroup v1, hybrid (v1 plus an empty
// cgroup2) or unified (v2 only, as in the project's VM) - read independently
// of tsrun's own code (from /proc/self/mountinfo and /proc/self/cgroup),
// plus checks that a container left no cgroup behind. Tests only ever read,
// or write to the directories their own containers made.
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { childCgroups } from '../../src/cgroups/files';
import { posix } from 'node:path';
import { sleep, type Background } from '../helpers/session';

/** v1 controller -> mount point, one entry per hierarchy (co-mounted controllers share a mount). */
export function v1Mounts(): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , options = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup') continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    for (const opt of options.split(',')) {
      if (['rw', 'ro', 'clone_children', 'noprefix', 'xattr'].includes(opt) || opt.startsWith('release_agent=')) continue;
      if (opt.startsWith('name=') && opt !== 'name=systemd') continue;
      if (!mounts.has(opt)) mounts.set(opt, mountPoint);
    }
  }
  return mounts;
}

/** This process' cgroup path in the hierarchy of `controller` ('' for cgroup2). */
export function ownCgroup(controller: string): string {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(/:(.*?):/);
    if (controllers !== undefined && controllers.split(',').includes(controller)) return path;
  }
  throw new Error(`this process is in no ${controller} cgroup`);
}

/** Controllers that limit or account (the name=systemd hierarchy excepted). */
export const CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'devices', 'freezer', 'blkio'];

/** True on a unified host: cgroup2 only, every controller in one hierarchy. */
export function isCgroupV2(): boolean {
  return v1Mounts().size === 0 && cgroup2Mount() !== undefined;
}

/** The cgroup2 mount: the whole tree on a unified host, the empty one of a hybrid host, none on a v1-only one. */
export function cgroup2Mount(): string | undefined {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.includes(' - cgroup2 '));
  return line?.split(' ')[4];
}

/**
 * The cgroup that relative container paths are joined to: our own (v1), or
 * its parent on a unified host, where a cgroup holding processes (ours)
 * cannot enable controllers for children (runc's placement too).
 */
export function containerBase(controller: string): string {
  return isCgroupV2() ? posix.dirname(ownCgroup('')) : ownCgroup(controller);
}

/**
 * Controller -> directory of the cgroup at `sub` (relative, as tsrun places
 * it). On a unified host one directory holds every controller: the map has
 * the one key "".
 */
export function cgroupDirs(sub: string): Map<string, string> {
  if (isCgroupV2()) return new Map([['', posix.join(cgroup2Mount() as string, containerBase(''), sub)]]);
  const dirs = new Map<string, string>();
  for (const [controller, mount] of v1Mounts()) dirs.set(controller, posix.join(mount, ownCgroup(controller), sub));
  return dirs;
}

/** The cgroup2 mount of a hybrid host (none on a v1-only or unified one). */
export function hybridCgroup2Mount(): string | undefined {
  return isCgroupV2() ? undefined : cgroup2Mount();
}

/** cgroupDirs plus, on a hybrid host, the directory in the cgroup2 hierarchy (key "cgroup2"), where tsrun places containers too. */
export function everyHierarchyDir(sub: string): Map<string, string> {
  const dirs = cgroupDirs(sub);
  const mount = hybridCgroup2Mount();
  if (mount) dirs.set('cgroup2', posix.join(mount, ownCgroup(''), sub));
  return dirs;
}

/** Directories of the container's default cgroup, tsrun/<id>. */
export function containerDirs(id: string): Map<string, string> {
  return cgroupDirs(`tsrun/${id}`);
}

/** The container's directory for `controller` (on a unified host, the one directory whatever the controller). */
export function dirOf(id: string, controller: string): string {
  const dir = containerDirs(id).get(isCgroupV2() ? '' : controller);
  if (!dir) throw new Error(`no ${controller} hierarchy on this host`);
  return dir;
}

export function readCg(id: string, controller: string, file: string): string {
  return readFileSync(posix.join(dirOf(id, controller), file), 'utf8').trim();
}

export function readCgNumber(id: string, controller: string, file: string): number {
  return Number(readCg(id, controller, file));
}

export function procsOf(dir: string): number[] {
  try {
    return readFileSync(posix.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** Key/value lines of a file such as cpu.stat or memory.oom_control. */
export function keyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/**
 * What is left of the container's cgroup: its directory in any hierarchy, and
 * the default tsrun/ level when it stayed empty. In most hierarchies other
 * suites running at the same time share that tsrun/ level (our own cgroup is
 * the root there), so it may exist with their containers in it; an empty one
 * is ours to have removed. A short wait lets another suite's delete finish.
 */
export async function cgroupLeftovers(id: string, sub = `tsrun/${id}`): Promise<string[]> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const found: string[] = [];
    for (const [controller, dir] of everyHierarchyDir(sub)) {
      if (existsSync(dir)) found.push(`${controller} cgroup ${dir}`);
      if (sub !== `tsrun/${id}`) continue;
      const parent = posix.dirname(dir);
      if (existsSync(parent) && childCgroups(parent).length === 0) found.push(`empty ${controller} parent ${parent}`);
    }
    if (found.length === 0 || Date.now() > deadline) return found;
    await sleep(100);
  }
}

/** Removes (deepest first) the cgroup directories a test made itself at `sub`, if empty. */
export function removeOwnCgroups(sub: string): void {
  const parts = sub.split('/');
  for (let n = parts.length; n > 0; n--) {
    for (const dir of everyHierarchyDir(parts.slice(0, n).join('/')).values()) {
      try {
        rmdirSync(dir);
      } catch {
        // absent, or still holding something
      }
    }
  }
}

/** Total CPU time (ns) the container's cgroup used over `ms` of wall time. */
export async function cpuNsOver(id: string, ms: number): Promise<{ ns: number; wallNs: number }> {
  const before = readCgNumber(id, 'cpuacct', 'cpuacct.usage');
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  const after = readCgNumber(id, 'cpuacct', 'cpuacct.usage');
  return { ns: after - before, wallNs: Number(process.hrtime.bigint() - t0) };
}

/** Kills what is still running of `children` and waits for each to exit. */
export async function stopAll(children: Background[]): Promise<void> {
  for (const b of children) {
    if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGKILL');
    await b.done.catch(() => undefined);
  }
}
