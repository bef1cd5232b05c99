// A benchmark, not a test: tsrun beside runc on the same busybox bundle, in
// the same run. `npm run bench` (build, then node dist/hack/bench.js).
//
//   node dist/hack/bench.js [--runs N]     N >= 10, default 20
//
// Prints medians and p90 of: wall time of `run` of busybox `true`; of
// create + start + (wait for the process to stop) + delete; of `state` on an
// existing container; the RSS of the init waiting after create; and, per tsrun
// verb, the time spent loading modules, how many were loaded and whether ajv,
// full yargs or koffi came with them (found by a preload that hooks
// Module._load, so nothing in src/ changes for it). Every container it makes
// is deleted and every temp dir removed, also when it fails or is interrupted.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultSpec } from '../src/spec/default-spec';
import { sleepMs } from '../src/linux/sleep';

const REPO = resolve(__dirname, '..', '..');
const TSRUN = join(REPO, 'bin', 'tsrun');
const CLI_ENTRY = join(REPO, 'dist', 'src', 'cli', 'main.js');
const ROOTFS = join(REPO, 'bundles', 'demo', 'rootfs');

interface Runtime {
  name: string;
  /** argv to run a verb, without the verb. */
  base: string[];
  root: string;
}

function parseRuns(argv: string[]): number {
  let runs = 20;
  for (let i = 0; i < argv.length; i++) {
    const m = /^--runs(?:=(.*))?$/.exec(argv[i]);
    if (m) runs = Number(m[1] ?? argv[++i]);
  }
  if (!Number.isInteger(runs) || runs < 10) {
    process.stderr.write('bench: --runs must be an integer of at least 10\n');
    process.exit(2);
  }
  return runs;
}

// ---------------------------------------------------------------- statistics

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// ---------------------------------------------------------------- processes

function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}


/**
 * Runs a runtime verb. Its stdout and stderr go to files, never pipes: a
 * created init inherits them, and a pipe it held would keep spawnSync waiting
 * until the container exits. Throws with stderr on failure.
 */
function invoke(rt: Runtime, args: string[]): { ms: number; stdout: string } {
  const outPath = join(work, 'invoke.out');
  const errPath = join(work, 'invoke.err');
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  let ms: number;
  let r: ReturnType<typeof spawnSync>;
  try {
    const t0 = now();
    r = spawnSync(rt.base[0], [...rt.base.slice(1), '--root', rt.root, ...args], { stdio: ['ignore', out, err], timeout: 60000 });
    ms = now() - t0;
  } finally {
    closeSync(out);
    closeSync(err);
  }
  if (r.status !== 0) throw new Error(`${rt.name} ${args.join(' ')} exited ${r.status ?? r.signal}: ${readFileSync(errPath, 'utf8')}`);
  return { ms, stdout: readFileSync(outPath, 'utf8') };
}

function procStat(pid: number): { state: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return { state: text.slice(text.lastIndexOf(')') + 2).split(' ')[0] };
  } catch {
    return null;
  }
}

function waitGone(pid: number, timeoutMs = 10000): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = procStat(pid);
    if (st === null || st.state === 'Z' || st.state === 'X') return;
    if (Date.now() > deadline) throw new Error(`process ${pid} did not stop`);
    sleepMs(1);
  }
}

function vmRssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN);
}

function pssKb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Pss:'));
    return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------- setup

const work = mkdtempSync(join(tmpdir(), 'tsrun-bench-'));
const bundle = join(work, 'bundle');
const runtimes: Runtime[] = [];
let serial = 0;
const made = new Set<string>();

function newId(rt: Runtime): string {
  const id = `bench-${process.pid}-${serial++}`;
  made.add(`${rt.name}\0${id}`);
  return id;
}

function cleanup(): void {
  for (const key of made) {
    const [name, id] = key.split('\0');
    const rt = runtimes.find((r) => r.name === name);
    if (rt) spawnSync(rt.base[0], [...rt.base.slice(1), '--root', rt.root, 'delete', '--force', id], { stdio: 'ignore', timeout: 20000 });
  }
  made.clear();
  rmSync(work, { recursive: true, force: true });
}

function forget(rt: Runtime, id: string): void {
  made.delete(`${rt.name}\0${id}`);
}

function deleteNow(rt: Runtime, id: string): void {
  invoke(rt, ['delete', '--force', id]);
  forget(rt, id);
}

function setup(): void {
  if (!existsSync(join(ROOTFS, 'bin', 'busybox')) && !existsSync(join(ROOTFS, 'bin', 'sh'))) {
    throw new Error(`no busybox rootfs at ${ROOTFS}: run node hack/build-rootfs.js`);
  }
  if (!existsSync(TSRUN)) throw new Error(`no ${TSRUN}: run npm run build`);
  mkdirSync(bundle);
  const copy = spawnSync('cp', ['-a', ROOTFS, join(bundle, 'rootfs')], { encoding: 'utf8' });
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

// ---------------------------------------------------------------- measurements

interface Series {
  label: string;
  unit: string;
  values: Map<string, number[]>;
}

function series(label: string, unit: string): Series {
  return { label, unit, values: new Map(runtimes.map((r) => [r.name, []])) };
}

function measureRun(rt: Runtime, s: Series): void {
  const id = newId(rt);
  s.values.get(rt.name)!.push(invoke(rt, ['run', '--bundle', bundle, id]).ms);
  forget(rt, id);
}

function measureLifecycle(rt: Runtime, s: Series, rss: Series, pss: Series): void {
  const id = newId(rt);
  const pidFile = join(work, `${rt.name}-${id}.pid`);
  const t0 = now();
  invoke(rt, ['create', '--bundle', bundle, '--pid-file', pidFile, id]);
  const t1 = now();
  const pid = Number(readFileSync(pidFile, 'utf8'));
  // Not timed: reading /proc for the memory figures.
  rss.values.get(rt.name)!.push(vmRssKb(pid) / 1024);
  pss.values.get(rt.name)!.push(pssKb(pid) / 1024);
  const t2 = now();
  invoke(rt, ['start', id]);
  waitGone(pid);
  invoke(rt, ['delete', id]);
  const t3 = now();
  s.values.get(rt.name)!.push(t1 - t0 + (t3 - t2));
  forget(rt, id);
  rmSync(pidFile, { force: true });
}

function measureState(rt: Runtime, id: string, s: Series): void {
  const r = invoke(rt, ['state', id]);
  if (!/"status":\s*"created"/.test(r.stdout)) throw new Error(`${rt.name} state: unexpected ${r.stdout}`);
  s.values.get(rt.name)!.push(r.ms);
}

// ---------------------------------------------------------------- module loading

const PRELOAD = `
'use strict';
const Module = require('module');
const { writeFileSync } = require('fs');
const original = Module._load;
let depth = 0, loadNs = 0n, firstStart = 0n;
Module._load = function (request, parent, isMain) {
  if (depth === 0) {
    const t0 = process.hrtime.bigint();
    if (firstStart === 0n) firstStart = t0;
    depth++;
    try { return original.apply(this, arguments); }
    finally { depth--; loadNs += process.hrtime.bigint() - t0; }
  }
  depth++;
  try { return original.apply(this, arguments); } finally { depth--; }
};
process.on('exit', () => {
  const files = Object.keys(require.cache);
  writeFileSync(process.env.BENCH_LOAD_REPORT, JSON.stringify({
    loadMs: Number(loadNs) / 1e6,
    modules: files.length,
    ajv: files.some((f) => /[\\\\/]node_modules[\\\\/]ajv[\\\\/]/.test(f)),
    yargs: files.some((f) => /[\\\\/]node_modules[\\\\/]yargs[\\\\/]/.test(f)),
    koffi: files.some((f) => /[\\\\/]node_modules[\\\\/]koffi[\\\\/]/.test(f)),
    lockfile: files.some((f) => /[\\\\/]node_modules[\\\\/]proper-lockfile[\\\\/]/.test(f)),
  }));
});
`;

interface LoadReport {
  loadMs: number;
  modules: number;
  ajv: boolean;
  yargs: boolean;
  koffi: boolean;
  lockfile: boolean;
}

interface LoadCase {
  verb: string;
  /** Arguments after `--root R`; prepare makes what they need. */
  prepare(rt: Runtime): { args: string[]; after?: () => void };
  /** Loading these is a regression. */
  mustNotLoad: (keyof LoadReport)[];
}

function loadOnce(tsrun: Runtime, preload: string, args: string[]): { report: LoadReport; wallMs: number } {
  const reportFile = join(work, `load-${serial++}.json`);
  const t0 = now();
  const errPath = join(work, 'load.err');
  const err = openSync(errPath, 'w');
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '--no-warnings', '-r', preload, CLI_ENTRY, '--root', tsrun.root, ...args], {
      stdio: ['ignore', 'ignore', err],
      env: { ...process.env, BENCH_LOAD_REPORT: reportFile },
      timeout: 30000,
    });
  } finally {
    closeSync(err);
  }
  const wallMs = now() - t0;
  if (r.status !== 0) throw new Error(`tsrun ${args.join(' ')} exited ${r.status ?? r.signal}: ${readFileSync(errPath, 'utf8')}`);
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as LoadReport;
  rmSync(reportFile, { force: true });
  return { report, wallMs };
}

function measureLoading(tsrun: Runtime, runs: number): string[][] {
  const preload = join(work, 'load-hook.js');
  writeFileSync(preload, PRELOAD);
  const stateId = newId(tsrun);
  invoke(tsrun, ['create', '--bundle', bundle, stateId]);
  const cases: LoadCase[] = [
    { verb: 'state', prepare: () => ({ args: ['state', stateId] }), mustNotLoad: ['ajv', 'yargs', 'koffi'] },
    { verb: 'kill', prepare: () => ({ args: ['kill', stateId, '0'] }), mustNotLoad: ['ajv', 'yargs', 'koffi'] },
    { verb: 'list', prepare: () => ({ args: ['list'] }), mustNotLoad: ['ajv', 'yargs', 'koffi'] },
    {
      verb: 'delete',
      prepare: (rt) => {
        const id = newId(rt);
        invoke(rt, ['create', '--bundle', bundle, id]);
        return { args: ['delete', '--force', id], after: () => forget(rt, id) };
      },
      mustNotLoad: ['ajv', 'yargs'],
    },
    {
      verb: 'create',
      prepare: (rt) => {
        const id = newId(rt);
        return { args: ['create', '--bundle', bundle, id], after: () => deleteNow(rt, id) };
      },
      mustNotLoad: ['yargs'],
    },
    {
      verb: 'start',
      prepare: (rt) => {
        const id = newId(rt);
        invoke(rt, ['create', '--bundle', bundle, id]);
        return { args: ['start', id], after: () => deleteNow(rt, id) };
      },
      mustNotLoad: ['ajv', 'yargs'],
    },
    {
      verb: 'run',
      prepare: (rt) => {
        const id = newId(rt);
        return { args: ['run', '--bundle', bundle, id], after: () => forget(rt, id) };
      },
      mustNotLoad: ['yargs'],
    },
    {
      verb: 'spec',
      prepare: () => {
        const dir = mkdtempSync(join(work, 'spec-'));
        return { args: ['spec', '--bundle', dir], after: () => rmSync(dir, { recursive: true, force: true }) };
      },
      mustNotLoad: ['ajv', 'yargs', 'koffi'],
    },
    { verb: '--help', prepare: () => ({ args: ['--help'] }), mustNotLoad: ['ajv', 'koffi'] },
  ];
  const rows: string[][] = [['verb', 'load ms p50', 'p90', 'process ms p50', 'modules', 'ajv', 'yargs (full)', 'koffi', 'lockfile', 'verdict']];
  const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
  for (const c of cases) {
    const load: number[] = [];
    const wall: number[] = [];
    let last: LoadReport | undefined;
    for (let i = 0; i < runs; i++) {
      const { args, after } = c.prepare(tsrun);
      try {
        const r = loadOnce(tsrun, preload, args);
        load.push(r.report.loadMs);
        wall.push(r.wallMs);
        last = { ...r.report, modules: Math.max(last?.modules ?? 0, r.report.modules) };
      } finally {
        after?.();
      }
    }
    const bad = c.mustNotLoad.filter((k) => last![k]);
    rows.push([
      c.verb,
      fmt(median(load)),
      fmt(percentile(load, 90)),
      fmt(median(wall)),
      String(last!.modules),
      yesNo(last!.ajv),
      yesNo(last!.yargs),
      yesNo(last!.koffi),
      yesNo(last!.lockfile),
      bad.length === 0 ? 'ok' : `LOADS ${bad.join(', ')}`,
    ]);
  }
  deleteNow(tsrun, stateId);
  return rows;
}

// ---------------------------------------------------------------- output

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  const line = (r: string[]): string => r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n') + '\n';
}

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

function main(): void {
  const runs = parseRuns(process.argv.slice(2));
  setup();
  const runcVersion = runtimes.some((r) => r.name === 'runc') ? spawnSync('runc', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] : 'none';
  process.stdout.write(`tsrun vs ${runcVersion}; node ${process.version}; ${runs} runs each, busybox \`true\`, bundle ${bundle}\n\n`);

  const run = series('run true', 'ms');
  const lifecycle = series('create+start+wait+delete', 'ms');
  const state = series('state', 'ms');
  const rss = series('waiting init VmRSS', 'MiB');
  const pss = series('waiting init Pss', 'MiB');

  // One warm-up of each, then the runtimes alternate so drift hits both alike.
  for (const rt of runtimes) {
    measureRun(rt, series('warm-up', 'ms'));
    measureLifecycle(rt, series('warm-up', 'ms'), series('', ''), series('', ''));
  }
  for (let i = 0; i < runs; i++) for (const rt of runtimes) measureRun(rt, run);
  for (let i = 0; i < runs; i++) for (const rt of runtimes) measureLifecycle(rt, lifecycle, rss, pss);
  const stateIds = new Map<string, string>();
  for (const rt of runtimes) {
    const id = newId(rt);
    invoke(rt, ['create', '--bundle', bundle, id]);
    stateIds.set(rt.name, id);
  }
  for (let i = 0; i < runs; i++) for (const rt of runtimes) measureState(rt, stateIds.get(rt.name)!, state);
  for (const rt of runtimes) deleteNow(rt, stateIds.get(rt.name)!);

  process.stdout.write('Wall time and memory (median p50, p90)\n');
  process.stdout.write(table(comparisonRows([run, lifecycle, state, rss, pss])));
  process.stdout.write('\nModule loading per tsrun verb (Module._load hook; "process ms" is the whole node process)\n');
  process.stdout.write(table(measureLoading(runtimes[0], runs)));
}

let exitCode = 0;
const interrupted = (): void => {
  cleanup();
  process.exit(130);
};
process.on('SIGINT', interrupted);
process.on('SIGTERM', interrupted);
try {
  main();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
  exitCode = 1;
} finally {
  cleanup();
}
process.exitCode = exitCode;
