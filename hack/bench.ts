// A benchmark, not a test: tsrun beside runc on the same busybox bundle, in
// the same run, with `node -e 0` as the floor a node program cannot go under.
// `npm run bench` (build, then node dist/hack/bench.js).
//
//   node dist/hack/bench.js [--runs N] [--parallel-reps N] [--parallel-wall N]
//       [--parallel-leaks N] [--leak-reps N] [--list-containers N]
//       [--lock-acquisitions N] [--image-runs N] [--only image]
//   defaults: 20 runs (at least 10); 50 parallel containers 3 times (timed)
//   and 100 once (errors and leaks); 200 containers for list; 1000 lock
//   acquisitions; 3 runs of each image unpack. That is about 7 minutes on
//   the project's 2-core machine.
//   --only image: only the image rows (issue 14): 3-6 minutes there, as the
//   disk is busy; neither runc nor the busybox rootfs is needed for them.
//
// It ends with a summary: one line per target of issue 13 with tsrun, runc,
// the ratio, the target and whether it is met. Before that, details:
// - wall of `run` of busybox `true`; of create + start + (wait for the
//   process to stop) + delete; of `state`; VmRSS and Pss (smaps_rollup) of
//   the init waiting after create;
// - CPU (user + sys of the command and the children it waited for) of
//   `state`, of `list` over 200 created containers, and of `node -e 0`,
//   twice: with the environment as inherited, and with the one the tsrun
//   launcher gives node (every NODE_* variable unset; NODE_EXTRA_CA_CERTS
//   alone makes node parse a CA bundle at start-up). CPU is read with bash's
//   `times` (getrusage of the waited-for children, to the millisecond);
//   /usr/bin/time was not used: its %U and %S have 10 ms steps;
// - `podman run --rm` of busybox `true` with each runtime (cgroupfs, private
//   store, image from `podman import` of the rootfs), if podman and conmon
//   are installed; and with runc behind a bare `node -e 0` at each call: the
//   floor of any runtime podman starts as a node program (podman makes three
//   calls per container), printed beside the target as a reference;
// - N concurrent create -> start -> delete --force chains per runtime, each
//   group with its own state root and a bench-owned parent cgroup: wall,
//   failed commands, and leaks (state root entries, cgroup dirs, live
//   processes, mounts);
// - in-process withContainerLock() acquisitions with nothing to do;
// - per tsrun verb, the time spent loading modules (see bench/loading.ts);
// - images (bench/image.ts): `tsrun bundle --from` of a ~200 MB four-layer
//   OCI layout beside `umoci unpack`, and of the same files as a rootfs
//   .tar.gz beside `tar -xzf`: median wall and peak RSS (GNU time's %M) of
//   --image-runs runs, checked against issue 14's targets (<= 1.5x wall,
//   < 100 MiB RSS) in a table of their own after the summary.
// Progress goes to stderr. Every container it makes is deleted and every
// temp dir, cgroup and podman store removed, also when it fails or is
// interrupted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSpec } from '../src/spec/default-spec';
import { cleanup, cpuMs, fmt, forget, invoke, median, newId, NODE_FLOOR_RUNTIME, nodeFloorRuntime, now, percentile, progress, ROOTFS, table, tick, TSRUN, waitGone, work, type Runtime } from './bench/common';
import { measureLoading } from './bench/loading';
import { sleepMs } from '../src/linux/sleep';
import { listGroup, parallelGroup, type GroupResult } from './bench/parallel';
import { measurePodman, podmanMissing, type PodmanResult } from './bench/podman';
import { imageDescription, imageDetailRows, imageFailures, imageTargetRows, measureImage, type ImageResult } from './bench/image';

interface Options {
  runs: number;
  /** Repetitions of the timed parallel row and of the errors-and-leaks one. */
  parallelReps: number;
  leakReps: number;
  parallelWall: number;
  parallelLeaks: number;
  listContainers: number;
  lockAcquisitions: number;
  /** Timed runs of each image unpack (after one checked warm-up). */
  imageRuns: number;
}

const OPTION_MINIMA: Record<keyof Options, number> = { runs: 10, parallelReps: 1, leakReps: 1, parallelWall: 1, parallelLeaks: 1, listContainers: 1, lockAcquisitions: 10, imageRuns: 1 };

/** The parts `--only` can run alone. */
const PARTS = ['image'] as const;
type Part = (typeof PARTS)[number];

/** `--only PART` (or `--only=PART`), and the other arguments. */
function parseOnly(argv: string[]): { only: Part | undefined; rest: string[] } {
  const rest: string[] = [];
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const m = /^--only(?:=(.*))?$/.exec(argv[i]);
    if (m) only = m[1] ?? argv[++i];
    else rest.push(argv[i]);
  }
  if (only !== undefined && !(PARTS as readonly string[]).includes(only)) {
    process.stderr.write(`bench: --only takes one of: ${PARTS.join(', ')}\n`);
    process.exit(2);
  }
  return { only: only as Part | undefined, rest };
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { runs: 20, parallelReps: 3, leakReps: 1, parallelWall: 50, parallelLeaks: 100, listContainers: 200, lockAcquisitions: 1000, imageRuns: 3 };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    const key = m?.[1].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof Options | undefined;
    if (!m || key === undefined || !(key in opts)) {
      process.stderr.write(`bench: unknown argument ${argv[i]}\n`);
      process.exit(2);
    }
    const value = Number(m[2] ?? argv[++i]);
    if (!Number.isInteger(value) || value < OPTION_MINIMA[key]) {
      process.stderr.write(`bench: --${m[1]} must be an integer of at least ${OPTION_MINIMA[key]}\n`);
      process.exit(2);
    }
    opts[key] = value;
  }
  return opts;
}

// ---------------------------------------------------------------- setup

const bundle = join(work, 'bundle');
const sharedRootfs = join(bundle, 'rootfs');
const runtimes: Runtime[] = [];

function setup(): void {
  if (!existsSync(join(ROOTFS, 'bin', 'busybox')) && !existsSync(join(ROOTFS, 'bin', 'sh'))) {
    throw new Error(`no busybox rootfs at ${ROOTFS}: run node hack/build-rootfs.js`);
  }
  if (!existsSync(TSRUN)) throw new Error(`no ${TSRUN}: run npm run build`);
  mkdirSync(bundle);
  const copy = spawnSync('cp', ['-a', ROOTFS, sharedRootfs], { encoding: 'utf8' });
  if (copy.status !== 0) throw new Error(`copying the rootfs failed: ${copy.stderr}`);
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = ['true'];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
  runtimes.push({ name: 'tsrun', base: [TSRUN], root: join(work, 'root-tsrun') });
  const runc = spawnSync('runc', ['--version'], { encoding: 'utf8' });
  if (runc.status === 0) runtimes.push({ name: 'runc', base: ['runc'], root: join(work, 'root-runc') });
  else process.stdout.write('runc not found: tsrun only\n');
}

function runcPath(): string {
  const r = spawnSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' });
  return r.stdout.trim() || 'runc';
}

// ---------------------------------------------------------------- sequential measurements

/** Values by runtime name ("tsrun", "runc"; "node" and "node (inherited env)" for the floor). */
interface Series {
  label: string;
  unit: string;
  values: Map<string, number[]>;
}

function series(label: string, unit: string): Series {
  return { label, unit, values: new Map(runtimes.map((r) => [r.name, []])) };
}

function push(s: Series, name: string, value: number): void {
  if (!s.values.has(name)) s.values.set(name, []);
  s.values.get(name)!.push(value);
}

function measureRun(rt: Runtime, s: Series): void {
  const id = newId(rt);
  push(s, rt.name, invoke(rt, ['run', '--bundle', bundle, id]).ms);
  forget(rt, id);
}

function vmRssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN);
}

/**
 * Pss (proportional set size: shared pages, node's text say, counted by
 * share, so N inits cost about N x Pss) and the private part alone (USS).
 * Pss falls as more processes on the machine map the same node binary and
 * libraries; USS does not, and is the floor Pss approaches.
 */
function smapsKb(pid: number): { pss: number; uss: number } {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return { pss: NaN, uss: NaN };
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { pss: field('Pss'), uss: field('Private_Clean') + field('Private_Dirty') };
}

/** Until the process sleeps in the kernel's FIFO open (wchan wait_for_partner), 2 s at most. */
function waitBlockedOnFifo(pid: number): void {
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    try {
      if (readFileSync(`/proc/${pid}/wchan`, 'utf8') === 'wait_for_partner') return;
    } catch {
      return;
    }
    sleepMs(1);
  }
}

function measureLifecycle(rt: Runtime, s: Series, mem: { rss: Series; pss: Series; uss: Series }): void {
  const id = newId(rt);
  const pidFile = join(work, `${rt.name}-${id}.pid`);
  const t0 = now();
  invoke(rt, ['create', '--bundle', bundle, '--pid-file', pidFile, id]);
  const t1 = now();
  const pid = Number(readFileSync(pidFile, 'utf8'));
  // Not timed: reading /proc for the memory figures, once the init is
  // blocked opening its fifo (both runtimes' inits wait there), where it
  // stays until start.
  waitBlockedOnFifo(pid);
  const smaps = smapsKb(pid);
  push(mem.rss, rt.name, vmRssKb(pid) / 1024);
  push(mem.pss, rt.name, smaps.pss / 1024);
  push(mem.uss, rt.name, smaps.uss / 1024);
  const t2 = now();
  invoke(rt, ['start', id]);
  waitGone(pid);
  invoke(rt, ['delete', id]);
  const t3 = now();
  push(s, rt.name, t1 - t0 + (t3 - t2));
  forget(rt, id);
  rmSync(pidFile, { force: true });
}

function measureState(rt: Runtime, id: string, s: Series): void {
  const r = invoke(rt, ['state', id]);
  if (!/"status":\s*"created"/.test(r.stdout)) throw new Error(`${rt.name} state: unexpected ${r.stdout}`);
  push(s, rt.name, r.ms);
}

/** The environment the tsrun launcher gives node: the caller's, without NODE_* (NODE_OPTIONS, NODE_EXTRA_CA_CERTS, ...). */
function launcherEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NODE_')));
}

/** CPU of `state` on a created container per runtime, and of `node -e 0` in both environments; interleaved so drift hits all alike. */
async function measureCpu(runs: number, stateIds: Map<string, string>, stateCpu: Series, floor: Series): Promise<void> {
  const clean = launcherEnv();
  const node = (env: NodeJS.ProcessEnv): number => cpuMs([process.execPath, '-e', '0'], env);
  node(process.env); // warm-up: page cache
  for (let i = 0; i < runs; i++) {
    await tick();
    push(floor, 'node', node(clean));
    push(floor, 'node (inherited env)', node(process.env));
    for (const rt of runtimes) push(stateCpu, rt.name, cpuMs([...rt.base, '--root', rt.root, 'state', stateIds.get(rt.name)!]));
  }
}

/** Wall (run, lifecycle, state) and memory (waiting init) rows, then the CPU of state and of node. */
interface Sequential {
  /** Every row, for the detail table. */
  wall: Series[];
  run: Series;
  pss: Series;
  stateCpu: Series;
  floor: Series;
}

async function sequentialRows(runs: number): Promise<Sequential> {
  const run = series('run true', 'ms');
  const lifecycle = series('create+start+wait+delete', 'ms');
  const state = series('state', 'ms');
  const mem = { rss: series('waiting init VmRSS', 'MiB'), pss: series('waiting init Pss', 'MiB'), uss: series('waiting init USS (private)', 'MiB') };
  const stateCpu = series('state CPU', 'ms');
  const floor: Series = { label: 'node -e 0 CPU', unit: 'ms', values: new Map() };
  // One warm-up of each, then the runtimes alternate so drift hits both alike.
  for (const rt of runtimes) {
    measureRun(rt, series('warm-up', 'ms'));
    measureLifecycle(rt, series('warm-up', 'ms'), { rss: series('', ''), pss: series('', ''), uss: series('', '') });
  }
  progress(`run: ${runs} runs per runtime`);
  for (let i = 0; i < runs; i++) {
    await tick();
    for (const rt of runtimes) measureRun(rt, run);
  }
  progress(`create+start+wait+delete: ${runs} runs per runtime`);
  for (let i = 0; i < runs; i++) {
    await tick();
    for (const rt of runtimes) measureLifecycle(rt, lifecycle, mem);
  }
  const stateIds = new Map<string, string>();
  for (const rt of runtimes) {
    const id = newId(rt);
    invoke(rt, ['create', '--bundle', bundle, id]);
    stateIds.set(rt.name, id);
  }
  progress(`state (wall, then CPU) and node -e 0: ${runs} runs each`);
  for (let i = 0; i < runs; i++) {
    await tick();
    for (const rt of runtimes) measureState(rt, stateIds.get(rt.name)!, state);
  }
  await measureCpu(runs, stateIds, stateCpu, floor);
  for (const rt of runtimes) {
    invoke(rt, ['delete', '--force', stateIds.get(rt.name)!]);
    forget(rt, stateIds.get(rt.name)!);
  }
  return { wall: [run, lifecycle, state, mem.rss, mem.pss, mem.uss], run, pss: mem.pss, stateCpu, floor };
}

// ---------------------------------------------------------------- the lock

/**
 * withContainerLock() on one id, `n` times in this process, with nothing to
 * do inside: what every state-changing command pays for its lock, without
 * node's start-up around it. Loaded when needed, from the build.
 */
async function measureLock(n: number): Promise<number[]> {
  const { withContainerLock } = await import('../src/lifecycle/lock');
  const root = mkdtempSync(join(work, 'lock-'));
  for (let i = 0; i < 20; i++) await withContainerLock(root, 'bench-lock', () => undefined);
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await withContainerLock(root, 'bench-lock', () => undefined);
    ms.push(now() - t0);
  }
  rmSync(root, { recursive: true, force: true });
  return ms;
}

// ---------------------------------------------------------------- many containers, podman

/** runc behind a bare node start at each call (see nodeFloorRuntime), when runc is here. */
function floorRuntimes(): Runtime[] {
  if (!runtimes.some((r) => r.name === 'runc')) return [];
  return [{ name: NODE_FLOOR_RUNTIME, base: [nodeFloorRuntime(runcPath())], root: join(work, `root-${NODE_FLOOR_RUNTIME}`) }];
}

/** `withFloor`: the floor runtime's groups too (a reference, not a target). */
async function parallelRows(n: number, reps: number, withFloor = false): Promise<GroupResult[]> {
  const results: GroupResult[] = [];
  const all = withFloor ? [...runtimes, ...floorRuntimes()] : runtimes;
  for (let rep = 0; rep < reps; rep++) {
    for (const rt of all) {
      progress(`parallel: ${n} concurrent create+start+delete --force, ${rt.name}, repetition ${rep + 1}/${reps}`);
      const r = await parallelGroup(rt, n, rep, sharedRootfs);
      progress(`  ${fmt(r.wallMs, 0)} ms, ${r.errors.length} failed commands, ${r.leaks.length} leaks`);
      results.push(r);
    }
  }
  return results;
}

/** One runtime after the other: both sets at once would hold 400 waiting inits. */
async function listRows(count: number, runs: number): Promise<{ cpu: Series; errors: string[]; leaks: string[] }> {
  const cpu = series(`list, ${count} containers, CPU`, 'ms');
  const errors: string[] = [];
  const leaks: string[] = [];
  for (const rt of runtimes) {
    const r = await listGroup(rt, count, runs, sharedRootfs);
    cpu.values.set(rt.name, r.cpu);
    errors.push(...r.errors.map((e) => `${rt.name} ${e}`));
    leaks.push(...r.leaks.map((l) => `${rt.name} ${l}`));
  }
  return { cpu, errors, leaks };
}

async function podmanRows(runs: number): Promise<PodmanResult | string> {
  const missing = podmanMissing();
  if (missing) return missing;
  const rts = [{ name: 'tsrun', path: TSRUN }];
  if (runtimes.some((r) => r.name === 'runc')) rts.push({ name: 'runc', path: runcPath() }, ...floorRuntimes().map((r) => ({ name: r.name, path: r.base[0] })));
  progress(`podman run --rm: ${runs} runs per runtime`);
  return measurePodman(rts, runs, sharedRootfs);
}

// ---------------------------------------------------------------- output

function comparisonRows(all: Series[]): string[][] {
  const hasRunc = runtimes.some((r) => r.name === 'runc');
  const rows: string[][] = [['measure', 'tsrun p50', 'tsrun p90', 'runc p50', 'runc p90', 'tsrun/runc (p50)']];
  for (const s of all) {
    const t = s.values.get('tsrun') ?? [];
    const r = s.values.get('runc') ?? [];
    rows.push([
      `${s.label} (${s.unit})`,
      fmt(median(t)),
      fmt(percentile(t, 90)),
      hasRunc ? fmt(median(r)) : 'n/a',
      hasRunc ? fmt(percentile(r, 90)) : 'n/a',
      hasRunc ? `${fmt(median(t) / median(r), 2)}x` : 'n/a',
    ]);
  }
  return rows;
}

function floorRows(floor: Series, stateCpu: Series): string[][] {
  const rows: string[][] = [['node -e 0 CPU (ms)', 'p50', 'p90', 'tsrun state CPU / this']];
  const t = median(stateCpu.values.get('tsrun') ?? []);
  for (const [name, label] of [['node', 'launcher env (NODE_* unset)'], ['node (inherited env)', 'inherited env']]) {
    const v = floor.values.get(name) ?? [];
    rows.push([label, fmt(median(v)), fmt(percentile(v, 90)), `${fmt(t / median(v), 2)}x`]);
  }
  return rows;
}

function groupRows(groups: GroupResult[]): string[][] {
  const rows: string[][] = [['runtime', 'containers', 'wall ms', 'failed commands', 'leaks']];
  for (const g of groups) rows.push([g.runtime, String(g.n), fmt(g.wallMs, 0), String(g.errors.length), String(g.leaks.length)]);
  return rows;
}

/** The first few error and leak lines, for a reader to act on. */
function problems(title: string, errors: string[], leaks: string[]): string {
  const lines: string[] = [];
  if (errors.length > 0) lines.push(`${title}: ${errors.length} failed commands, first: `, ...errors.slice(0, 5).map((e) => `  ${e}`));
  if (leaks.length > 0) lines.push(`${title}: ${leaks.length} leaks, first: `, ...leaks.slice(0, 10).map((l) => `  ${l}`));
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

// ---------------------------------------------------------------- summary

interface Results extends Sequential {
  podman: PodmanResult | string;
  wallGroups: GroupResult[] | string;
  leakGroups: GroupResult[] | string;
  list: { cpu: Series; errors: string[]; leaks: string[] } | string;
  lock: number[] | string;
}

const SUMMARY_HEADER = ['measure', 'tsrun', 'runc', 'node -e 0', 'ratio', 'target', 'verdict'];

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'not measured' : ok ? 'met' : 'missed';
}

/** A row whose target is a ratio to runc's median. */
function againstRunc(measure: string, t: number[], r: number[], limit: number): string[] {
  const ratio = median(t) / median(r);
  return [measure, fmt(median(t)), fmt(median(r)), '-', `${fmt(ratio, 2)}x`, `<= ${limit}x runc`, verdict(Number.isFinite(ratio) ? ratio <= limit : undefined)];
}

/**
 * Not a target: the same runs with runc behind a bare node start at each
 * call, the least any runtime that its callers start as a node program can
 * cost. Its ratio against runc says what a target leaves a node runtime.
 */
function floorRow(floor: number[], runc: number[]): string[] {
  const title = '  floor: runc after node -e 0 per call';
  if (floor.length === 0) return [title, 'n/a', 'n/a', '-', '-', '(no target)', 'not measured'];
  return [title, fmt(median(floor)), fmt(median(runc)), '-', `${fmt(median(floor) / median(runc), 2)}x`, '(no target)', 'reference'];
}

function notMeasured(measure: string, target: string, reason: string): string[] {
  return [measure, 'n/a', 'n/a', '-', '-', target, `not measured (${reason.split('\n')[0].slice(0, 80)})`];
}

function byRuntime(groups: GroupResult[], name: string): GroupResult[] {
  return groups.filter((g) => g.runtime === name);
}

function summaryRows(res: Results, opts: Options): string[][] {
  const get = (s: Series, name: string): number[] => s.values.get(name) ?? [];
  const rows = [SUMMARY_HEADER, againstRunc('run of busybox true, wall (ms)', get(res.run, 'tsrun'), get(res.run, 'runc'), 3)];
  const podmanTitle = 'podman run --rm (cgroupfs), wall (ms)';
  if (typeof res.podman === 'string') rows.push(notMeasured(podmanTitle, '<= 1.5x runc', res.podman));
  else {
    rows.push(againstRunc(podmanTitle, res.podman.wall.get('tsrun') ?? [], res.podman.wall.get('runc') ?? [], 1.5));
    rows.push(floorRow(res.podman.wall.get(NODE_FLOOR_RUNTIME) ?? [], res.podman.wall.get('runc') ?? []));
  }
  const stateT = median(get(res.stateCpu, 'tsrun'));
  const nodeClean = median(get(res.floor, 'node'));
  rows.push(['state, CPU (ms)', fmt(stateT), fmt(median(get(res.stateCpu, 'runc'))), fmt(nodeClean), `${fmt(stateT / nodeClean, 2)}x`, '<= 1.3x node -e 0', verdict(stateT / nodeClean <= 1.3)]);
  const wallTitle = `${opts.parallelWall} parallel create+start+delete --force, wall (ms)`;
  if (typeof res.wallGroups === 'string') rows.push(notMeasured(wallTitle, '<= 4x runc', res.wallGroups));
  else {
    const row = againstRunc(wallTitle, byRuntime(res.wallGroups, 'tsrun').map((g) => g.wallMs), byRuntime(res.wallGroups, 'runc').map((g) => g.wallMs), 4);
    // A wall with failed commands is not comparable: say so beside the verdict.
    const failed = byRuntime(res.wallGroups, 'tsrun').reduce((n, g) => n + g.errors.length, 0);
    if (failed > 0) row[6] += ` (${failed} failed)`;
    rows.push(row);
    const floor = byRuntime(res.wallGroups, NODE_FLOOR_RUNTIME).map((g) => g.wallMs);
    rows.push(floorRow(floor, byRuntime(res.wallGroups, 'runc').map((g) => g.wallMs)));
  }
  const leakTitle = `${opts.parallelLeaks} parallel create+start+delete --force, errors+leaks`;
  if (typeof res.leakGroups === 'string') rows.push(notMeasured(leakTitle, '0', res.leakGroups));
  else {
    const count = (name: string): number => byRuntime(res.leakGroups as GroupResult[], name).reduce((n, g) => n + g.errors.length + g.leaks.length, 0);
    rows.push([leakTitle, String(count('tsrun')), runtimes.length > 1 ? String(count('runc')) : 'n/a', '-', '-', '0', verdict(count('tsrun') === 0)]);
  }
  const listTitle = `list with ${opts.listContainers} containers, CPU (ms)`;
  if (typeof res.list === 'string') rows.push(notMeasured(listTitle, '<= 1.2x runc', res.list));
  else rows.push(againstRunc(listTitle, get(res.list.cpu, 'tsrun'), get(res.list.cpu, 'runc'), 1.2));
  const pss = median(get(res.pss, 'tsrun'));
  rows.push(['created-but-not-started init, Pss (MiB)', fmt(pss), fmt(median(get(res.pss, 'runc'))), '-', '-', '<= 13 MiB', verdict(pss <= 13)]);
  if (typeof res.lock === 'string') rows.push(notMeasured('taking the per-container lock (ms)', '< 1 ms', res.lock));
  else rows.push(['taking the per-container lock (ms)', fmt(median(res.lock), 3), 'n/a', '-', '-', '< 1 ms', verdict(median(res.lock) < 1)]);
  return rows;
}

// ---------------------------------------------------------------- images

/** The first line a tool prints for --version, or that it is missing. */
function versionOf(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : `${argv[0]}: not found`;
}

async function imageRows(runs: number): Promise<ImageResult | string> {
  progress(`image: ${runs} runs of each unpack, after a checked warm-up`);
  const res = await attempt('image', () => measureImage(runs));
  if (typeof res === 'string') out(`\nimage: not measured: ${res}\n`);
  else out(`\nImage to bundle (${versionOf(['umoci', '--version'])}; ${versionOf(['tar', '--version'])})\n${imageDescription(res)}\n${table(imageDetailRows(res))}${imageFailures(res)}`);
  return res;
}

function imageTargets(res: ImageResult | string): void {
  if (typeof res !== 'string') out(`\nImage to bundle (medians; issue 14 targets)\n${table(imageTargetRows(res))}`);
}

/** `--only image`: the image rows and their targets, nothing else. */
async function imageOnly(opts: Options): Promise<void> {
  const started = now();
  out(`tsrun bundle vs umoci and tar; node ${process.version}\n`);
  const res = await imageRows(opts.imageRuns);
  imageTargets(res);
  out(`(${fmt((now() - started) / 1000, 0)} s)\n`);
}

// ---------------------------------------------------------------- main

/** Runs a phase; an unexpected failure becomes the row's "not measured" reason instead of ending the run. */
async function attempt<T>(name: string, fn: () => T | Promise<T>): Promise<T | string> {
  try {
    return await fn();
  } catch (err) {
    process.stderr.write(`bench: ${name} failed: ${(err as Error).stack ?? err}\n`);
    return `failed: ${(err as Error).message}`;
  }
}

function out(text: string): void {
  process.stdout.write(text);
}

async function manyContainers(opts: Options, res: Results): Promise<void> {
  res.wallGroups = await attempt('parallel', () => parallelRows(opts.parallelWall, opts.parallelReps, true));
  res.leakGroups = await attempt('parallel', () => parallelRows(opts.parallelLeaks, opts.leakReps));
  for (const groups of [res.wallGroups, res.leakGroups]) {
    if (typeof groups === 'string') continue;
    out(`\nConcurrent create -> start -> delete --force chains (each group its own state root and parent cgroup)\n${table(groupRows(groups))}`);
    out(problems(`${groups[0]?.n} parallel`, groups.flatMap((g) => g.errors.map((e) => `${g.runtime} ${e}`)), groups.flatMap((g) => g.leaks.map((l) => `${g.runtime} ${l}`))));
  }
  res.list = await attempt('list', () => listRows(opts.listContainers, opts.runs));
  if (typeof res.list !== 'string') {
    out(`\nlist over ${opts.listContainers} created containers, CPU (user+sys, bash times)\n${table(comparisonRows([res.list.cpu]))}`);
    out(problems('list', res.list.errors, res.list.leaks));
  }
}

async function main(): Promise<void> {
  const { only, rest } = parseOnly(process.argv.slice(2));
  const opts = parseOptions(rest);
  if (only === 'image') return imageOnly(opts);
  const started = now();
  setup();
  const runcVersion = runtimes.some((r) => r.name === 'runc') ? spawnSync('runc', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] : 'none';
  out(`tsrun vs ${runcVersion}; node ${process.version}; ${opts.runs} runs each, busybox \`true\`, bundle ${bundle}\n\n`);
  const seq = await sequentialRows(opts.runs);
  out('Wall time, memory and CPU (median p50, p90; CPU is user+sys of the command and its waited-for children)\n');
  out(table(comparisonRows([...seq.wall, seq.stateCpu])));
  out(`\n${table(floorRows(seq.floor, seq.stateCpu))}`);
  const res: Results = { ...seq, podman: '', wallGroups: '', leakGroups: '', list: '', lock: '' };
  progress(`lock: ${opts.lockAcquisitions} acquisitions`);
  res.lock = await attempt('lock', () => measureLock(opts.lockAcquisitions));
  if (typeof res.lock !== 'string') out(`\nwithContainerLock() with nothing to do, in process: p50 ${fmt(median(res.lock), 3)} ms, p90 ${fmt(percentile(res.lock, 90), 3)} ms over ${res.lock.length}\n`);
  res.podman = await attempt('podman', () => podmanRows(opts.runs));
  if (typeof res.podman !== 'string') {
    const s: Series = { label: 'podman run --rm true', unit: 'ms', values: res.podman.wall };
    out(`\npodman run --rm --network=none (cgroupfs, ${res.podman.driver} store, imported image)\n${table(comparisonRows([s]))}`);
    const floor = res.podman.wall.get(NODE_FLOOR_RUNTIME) ?? [];
    if (floor.length > 0) out(`runc after a bare node start per call (the floor of a node runtime): p50 ${fmt(median(floor))} ms, ${fmt(median(floor) / median(res.podman.wall.get('runc') ?? []), 2)}x runc\n`);
    out(res.podman.leaks.length === 0 ? 'podman: no runtime state, libpod cgroup, process or podman record left\n' : problems('podman', [], res.podman.leaks));
  } else out(`\npodman: not measured: ${res.podman}\n`);
  await manyContainers(opts, res);
  // Capped at 10 runs: nine verbs, and no target of the summary depends on them.
  const loadRuns = Math.min(opts.runs, 10);
  progress(`module loading per tsrun verb: ${loadRuns} runs each`);
  out(`\nModule loading per tsrun verb, ${loadRuns} runs (Module._load hook; "process ms" is the whole node process)\n`);
  out(table(await measureLoading(runtimes[0], loadRuns, bundle)));
  const image = await imageRows(opts.imageRuns);
  out(`\nSummary (medians; issue 13 targets; ${fmt((now() - started) / 1000, 0)} s)\n${table(summaryRows(res, opts))}`);
  const floor = (name: string): string => fmt(median(seq.floor.values.get(name) ?? []));
  out(`node -e 0 CPU: ${floor('node')} ms with NODE_* unset (as the launcher runs node; the state ratio's reference), ${floor('node (inherited env)')} ms with the inherited environment\n`);
  imageTargets(image);
}

let exitCode = 0;
const interrupted = (): void => {
  cleanup();
  process.exit(130);
};
process.on('SIGINT', interrupted);
process.on('SIGTERM', interrupted);
main()
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    exitCode = 1;
  })
  .finally(() => {
    progress('cleaning up');
    cleanup();
    process.exitCode = exitCode;
  });
