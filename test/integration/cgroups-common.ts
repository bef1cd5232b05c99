// Shared by the cgroups-*.test.ts suites: where a container's cgroup
// directories are on this host - cgroup v1, hybrid (v1 plus an empty
// cgroup2) or unified (v2 only, as in the project's VM) - read independently
// of tsrun's own code (from /proc/self/mountinfo and /proc/self/cgroup),
// plus checks that a container left no cgroup behind. Tests only ever read,
// or write to the directories their own containers made.
import { existsSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { childCgroups } from '../../src/cgroups/files';
import { openCgroupDir, queryCgroupDevicePrograms } from '../../src/linux/bpf';
import { closeFd } from '../../src/linux/fd';
import { posix } from 'node:path';
import { sleep, type Background } from '../helpers/session';

/**
 * How long a test waits for a condition (a process gone, a line printed):
 * generous, since the same tests run in an emulated VM ~10x slower than the
 * host, and a wait ends as soon as the condition holds.
 */
export const WAIT_MS = 60000;

/** Per-test timeout of the cgroup suites: a few container starts, each ~3 s in the emulated VM. */
export const TEST_TIMEOUT_MS = 300000;

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

let unified: boolean | undefined;

/** True on a unified host: cgroup2 only, every controller in one hierarchy. */
export function isCgroupV2(): boolean {
  unified ??= v1Mounts().size === 0 && cgroup2Mount() !== undefined;
  return unified;
}

/** The v1 or the v2 form of the same thing (a file name, a value), whichever this host has. */
export function onHost<T>(v1: T, v2: T): T {
  return isCgroupV2() ? v2 : v1;
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

/** CPU time (ns) the container's cgroup has used: cpuacct.usage (v1), cpu.stat usage_usec (v2). */
export function cpuUsageNs(id: string): number {
  if (!isCgroupV2()) return readCgNumber(id, 'cpuacct', 'cpuacct.usage');
  return keyValues(readCg(id, 'cpu', 'cpu.stat')).usage_usec * 1000;
}

/** Total CPU time (ns) the container's cgroup used over `ms` of wall time. */
export async function cpuNsOver(id: string, ms: number): Promise<{ ns: number; wallNs: number }> {
  const before = cpuUsageNs(id);
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  const after = cpuUsageNs(id);
  return { ns: after - before, wallNs: Number(process.hrtime.bigint() - t0) };
}

/** CFS bandwidth: cpu.cfs_quota_us and cpu.cfs_period_us (v1), cpu.max (v2); quota -1 is no limit. */
export function cpuQuota(id: string): { quota: number; period: number } {
  if (!isCgroupV2()) return { quota: readCgNumber(id, 'cpu', 'cpu.cfs_quota_us'), period: readCgNumber(id, 'cpu', 'cpu.cfs_period_us') };
  const [quota, period] = readCg(id, 'cpu', 'cpu.max').split(' ');
  return { quota: quota === 'max' ? -1 : Number(quota), period: Number(period) };
}

/**
 * Periods in which the cgroup was throttled and the time (ns) it spent so:
 * cpu.stat nr_throttled and throttled_time (v1, ns) or throttled_usec (v2).
 * Undefined fields (v2 without the cpu controller) stay undefined.
 */
export function cpuThrottling(id: string): { periods: number | undefined; ns: number | undefined } {
  const stat = keyValues(readCg(id, 'cpu', 'cpu.stat'));
  const ns = isCgroupV2() ? (stat.throttled_usec === undefined ? undefined : stat.throttled_usec * 1000) : stat.throttled_time;
  return { periods: stat.nr_throttled, ns };
}

/** The memory limit file: memory.limit_in_bytes (v1) or memory.max (v2). */
export function memoryLimitFile(): string {
  return onHost('memory.limit_in_bytes', 'memory.max');
}

/** OOM kills in the cgroup: oom_kill of memory.oom_control (v1) or memory.events (v2). */
export function oomKills(id: string): number {
  return keyValues(readCg(id, 'memory', onHost('memory.oom_control', 'memory.events'))).oom_kill ?? 0;
}

/** The cgroup's memory high-water mark: memory.max_usage_in_bytes (v1), memory.peak (v2, Linux 5.19+). */
export function memoryPeak(id: string): number | undefined {
  const file = onHost('memory.max_usage_in_bytes', 'memory.peak');
  return existsSync(posix.join(dirOf(id, 'memory'), file)) ? readCgNumber(id, 'memory', file) : undefined;
}

/**
 * The freezer as v1 names it: FROZEN, FREEZING or THAWED. On v2 from
 * cgroup.freeze (asked) and cgroup.events "frozen" (reached).
 */
export function freezerState(id: string): string {
  if (!isCgroupV2()) return readCg(id, 'freezer', 'freezer.state');
  const asked = readCg(id, 'freezer', 'cgroup.freeze') === '1';
  const reached = keyValues(readCg(id, 'freezer', 'cgroup.events')).frozen === 1;
  if (asked === reached) return asked ? 'FROZEN' : 'THAWED';
  return asked ? 'FREEZING' : 'THAWING';
}

/** Thaws the container's cgroup (a failed test's cleanup: delete --force cannot kill a frozen one on v1). */
export function thaw(id: string): void {
  writeFileSync(posix.join(dirOf(id, 'freezer'), onHost('freezer.state', 'cgroup.freeze')), onHost('THAWED', '0'));
}

/** Ids of the device programs attached to a cgroup v2 directory. */
export function attachedDevicePrograms(dir: string): number[] {
  const fd = openCgroupDir(dir);
  try {
    return queryCgroupDevicePrograms(fd);
  } finally {
    closeFd(fd);
  }
}

/**
 * What holds the container's device rules, to compare before and after a
 * change: devices.list (v1), or the ids of the programs attached (v2).
 */
export function deviceRulesOf(id: string): string {
  if (!isCgroupV2()) return readCg(id, 'devices', 'devices.list');
  return `device programs ${attachedDevicePrograms(dirOf(id, 'devices')).join(',')}`;
}

/** Kills what is still running of `children` and waits for each to exit. */
export async function stopAll(children: Background[]): Promise<void> {
  for (const b of children) {
    if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGKILL');
    await b.done.catch(() => undefined);
  }
}
