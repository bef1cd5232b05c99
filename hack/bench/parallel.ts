// Many containers at once: N concurrent create -> start -> delete --force
// chains (wall, failed commands, and what they left), and `list` over many
// containers (CPU). Each group of containers gets its own state root and
// its own cgroup parent under a bench-owned cgroup, so a leak is found by
// looking in places nothing else writes to.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSpec } from '../../src/spec/default-spec';
import {
  cgroupMounts, cpuMs, firstLines, forget, median, mountsUnder, now, onCleanup, processesMentioning, progress, remember, runAsync, work, isLive, type Runtime,
} from './common';

/** The bench-owned parent cgroup (in every hierarchy) of the containers made here. */
const CGROUP_PARENT = `tsrun-bench-${process.pid}`;
let cgroupCleanupRegistered = false;

export interface GroupResult {
  runtime: string;
  n: number;
  wallMs: number;
  /** Commands that exited non-zero: "verb id: exit N: first stderr lines". */
  errors: string[];
  /** What was still there afterwards: state entries, cgroups, processes, mounts. */
  leaks: string[];
}

/**
 * Removes a cgroup directory tree bottom-up (a cgroup dir with only control
 * files can be rmdir'ed); one that still holds processes stays (EBUSY) and
 * is named on stderr, not thrown: it is a leak, reported as such.
 */
function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch (err) {
    progress(`cannot remove cgroup ${dir}: ${(err as NodeJS.ErrnoException).code}`);
  }
}

/** Kills every process in a cgroup tree: a `runc init` cut short by an interrupt names no bench path, but sits in the bench's cgroup. */
function killCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) killCgroupTree(join(dir, e.name));
  let procs = '';
  try {
    procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return;
  }
  for (const pid of procs.split('\n').filter((l) => l !== '').map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

function registerCgroupCleanup(): void {
  if (cgroupCleanupRegistered) return;
  cgroupCleanupRegistered = true;
  onCleanup('bench cgroups', () => {
    const dirs = cgroupMounts().map((mount) => join(mount, CGROUP_PARENT));
    if (!dirs.some((d) => existsSync(d))) return;
    dirs.forEach(killCgroupTree);
    // A killed process leaves its cgroup as it exits, not at the signal.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    dirs.forEach(removeCgroupTree);
  });
}

/** A group of containers: its dir, state root, and one small bundle per id (config.json only, the rootfs shared by absolute path). */
function makeGroup(base: Runtime, group: string, ids: string[], rootfs: string): { rt: Runtime; dir: string; bundles: Map<string, string> } {
  registerCgroupCleanup();
  const dir = join(work, group);
  const rt: Runtime = { name: base.name, base: base.base, root: join(dir, 'state') };
  const bundles = new Map<string, string>();
  for (const id of ids) {
    const b = join(dir, 'bundles', id);
    mkdirSync(b, { recursive: true });
    const spec = defaultSpec();
    spec.process!.terminal = false;
    spec.process!.args = ['true'];
    spec.root = { path: rootfs, readonly: true };
    spec.linux!.cgroupsPath = `/${CGROUP_PARENT}/${group}/${id}`;
    writeFileSync(join(b, 'config.json'), JSON.stringify(spec));
    bundles.set(id, b);
  }
  return { rt, dir, bundles };
}

/** Runs one verb of a group's runtime; returns an error line, or undefined when it exited 0. */
async function verb(rt: Runtime, dir: string, id: string, args: string[]): Promise<string | undefined> {
  const r = await runAsync([...rt.base, '--root', rt.root, ...args], join(dir, `${id}.${args[0]}.err`));
  if (r.code === 0) return undefined;
  return `${args[0]} ${id}: exit ${r.code ?? r.signal}: ${firstLines(r.stderr)}`;
}

/** create, start, delete --force; a failed create still gets a delete --force, whose failure then is not counted. */
async function chain(rt: Runtime, dir: string, id: string, bundle: string): Promise<string[]> {
  const errors: string[] = [];
  remember(rt, id);
  const created = await verb(rt, dir, id, ['create', '--bundle', bundle, '--pid-file', join(dir, `${id}.pid`), id]);
  if (created) errors.push(created);
  else {
    const started = await verb(rt, dir, id, ['start', id]);
    if (started) errors.push(started);
  }
  const deleted = await verb(rt, dir, id, ['delete', '--force', id]);
  if (deleted === undefined) forget(rt, id);
  else if (!created) errors.push(deleted);
  return errors;
}

/** Everything a group may have left: state root entries, cgroups, live inits and runtime processes, mounts. */
function leaksOf(rt: Runtime, dir: string, group: string, ids: string[]): string[] {
  const leaks: string[] = [];
  if (existsSync(rt.root)) leaks.push(...readdirSync(rt.root).map((e) => `state root entry ${e}`));
  for (const mount of cgroupMounts()) {
    const parent = join(mount, CGROUP_PARENT, group);
    if (!existsSync(parent)) continue;
    for (const e of readdirSync(parent, { withFileTypes: true })) if (e.isDirectory()) leaks.push(`cgroup ${join(parent, e.name)}`);
  }
  for (const id of ids) {
    const pidFile = join(dir, `${id}.pid`);
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : NaN;
    if (pid > 0 && isLive(pid)) leaks.push(`container process ${pid} (${id})`);
  }
  leaks.push(...processesMentioning(dir).map((pid) => `process ${pid} naming ${dir}`));
  leaks.push(...mountsUnder(dir).map((m) => `mount ${m}`));
  return leaks;
}

/** N concurrent create -> start -> delete --force chains (each container its own chain), timed as a whole. */
export async function parallelGroup(base: Runtime, n: number, rep: number, rootfs: string): Promise<GroupResult> {
  const group = `par-${base.name}-${n}-${rep}`;
  const ids = Array.from({ length: n }, (_, i) => `p${i}`);
  const { rt, dir, bundles } = makeGroup(base, group, ids, rootfs);
  const t0 = now();
  const errors = (await Promise.all(ids.map((id) => chain(rt, dir, id, bundles.get(id)!)))).flat();
  const wallMs = now() - t0;
  const leaks = leaksOf(rt, dir, group, ids);
  for (const mount of cgroupMounts()) removeCgroupTree(join(mount, CGROUP_PARENT, group));
  return { runtime: base.name, n, wallMs, errors, leaks };
}

/** Runs `fn` over `items`, at most `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/**
 * CPU of `list` over `count` created (not started) containers, `runs` times;
 * then all are deleted and what they left is reported. Created a few at a
 * time: the point is the list, not a storm of creates.
 */
export async function listGroup(base: Runtime, count: number, runs: number, rootfs: string): Promise<{ cpu: number[]; errors: string[]; leaks: string[] }> {
  const group = `list-${base.name}`;
  const ids = Array.from({ length: count }, (_, i) => `l${i}`);
  const { rt, dir, bundles } = makeGroup(base, group, ids, rootfs);
  const errors: string[] = [];
  progress(`list: creating ${count} ${base.name} containers`);
  await pool(ids, 4, async (id) => {
    remember(rt, id);
    const e = await verb(rt, dir, id, ['create', '--bundle', bundles.get(id)!, id]);
    if (e) errors.push(e);
  });
  const cpu: number[] = [];
  cpuMs([...rt.base, '--root', rt.root, 'list']); // warm-up: page cache
  for (let i = 0; i < runs; i++) cpu.push(cpuMs([...rt.base, '--root', rt.root, 'list']));
  progress(`list: ${base.name} list CPU median ${median(cpu).toFixed(1)} ms; deleting`);
  await pool(ids, 4, async (id) => {
    const e = await verb(rt, dir, id, ['delete', '--force', id]);
    if (e) errors.push(e);
    else forget(rt, id);
  });
  const leaks = leaksOf(rt, dir, group, ids);
  for (const mount of cgroupMounts()) removeCgroupTree(join(mount, CGROUP_PARENT, group));
  return { cpu, errors, leaks };
}
