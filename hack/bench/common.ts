// What every part of the benchmark shares: paths, the temp dir, running a
// runtime verb (timed, or for its CPU time), statistics, tables, and the
// registry of everything made, so that one cleanup() removes it all, also
// after a failure or Ctrl-C.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '..', '..', '..');
export const TSRUN = join(REPO, 'bin', 'tsrun');
export const CLI_ENTRY = join(REPO, 'dist', 'src', 'cli', 'main.js');
export const ROOTFS = join(REPO, 'bundles', 'demo', 'rootfs');

/** The benchmark's temp dir: bundles, state roots, podman's store, output files. */
export const work = mkdtempSync(join(tmpdir(), 'tsrun-bench-'));

export interface Runtime {
  name: string;
  /** argv to run a verb, without the verb. */
  base: string[];
  root: string;
}

/** The name of the floor runtime below (podman looks it up by its file name in runtime_supports_json). */
export const NODE_FLOOR_RUNTIME = 'runc-after-node';

/** The launcher's node flags and the variables it unsets (hack/entries.js, shared with make-launcher.js). */
const LAUNCHER = require(join(REPO, 'hack', 'entries.js')) as { NODE_FLAGS: string[]; NODE_STARTUP_VARIABLES: string[] };

/**
 * Writes an executable into the bench's temp dir that starts node as the
 * tsrun launcher does (its flags and environment, no script) and then execs
 * runc with the same arguments: a runtime that pays node's start-up at
 * every call and nothing else of tsrun's, the least any runtime written for
 * node can cost. Returns its path.
 */
export function nodeFloorRuntime(runc: string): string {
  const path = join(work, NODE_FLOOR_RUNTIME);
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    '#!/bin/sh',
    `unset ${LAUNCHER.NODE_STARTUP_VARIABLES.join(' ')}`,
    `${quote(process.execPath)} ${LAUNCHER.NODE_FLAGS.join(' ')} -e 0 || exit 1`,
    `exec ${quote(runc)} "$@"`,
    '',
  ];
  writeFileSync(path, script.join('\n'), { mode: 0o755 });
  return path;
}

// ---------------------------------------------------------------- statistics

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Lets the event loop run between measurements, so a SIGINT or SIGTERM sent
 * to the bench alone is handled (cleanup, exit) within one measurement, not
 * at the end of a synchronous phase.
 */
export function tick(): Promise<void> {
  return new Promise((resolvePromise) => setImmediate(resolvePromise));
}

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  const line = (r: string[]): string => r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n') + '\n';
}

/** Progress goes to stderr, so stdout holds only the results. */
export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

// ---------------------------------------------------------------- registry and cleanup

const made = new Map<string, { rt: Runtime; id: string }>();
/** Extra cleanups (podman's store, bench cgroups), run last-registered first. */
const cleanups: { name: string; fn: () => void }[] = [];
/** Commands still running (the parallel rows): killed first on interrupt. */
export const inFlight = new Set<ChildProcess>();
let serial = 0;

export function nextSerial(): number {
  return serial++;
}

/** A fresh id, remembered until forget() so cleanup() deletes it. */
export function newId(rt: Runtime, prefix = 'bench'): string {
  const id = `${prefix}-${process.pid}-${serial++}`;
  remember(rt, id);
  return id;
}

export function remember(rt: Runtime, id: string): void {
  made.set(`${rt.root}\0${id}`, { rt, id });
}

export function forget(rt: Runtime, id: string): void {
  made.delete(`${rt.root}\0${id}`);
}

export function onCleanup(name: string, fn: () => void): void {
  cleanups.push({ name, fn });
}

/** Deletes every remembered container, runs the extra cleanups, removes the temp dir. Idempotent. */
export function cleanup(): void {
  for (const child of inFlight) child.kill('SIGKILL');
  inFlight.clear();
  for (const { rt, id } of made.values()) {
    spawnSync(rt.base[0], [...rt.base.slice(1), '--root', rt.root, 'delete', '--force', id], { stdio: 'ignore', timeout: 20000 });
  }
  made.clear();
  // A container whose create was cut short has no state to delete by: its
  // tsrun processes name the temp dir on their command line.
  for (const pid of processesMentioning(work)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  while (cleanups.length > 0) {
    const { name, fn } = cleanups.pop()!;
    try {
      fn();
    } catch (err) {
      process.stderr.write(`bench: cleanup of ${name} failed: ${(err as Error).message}\n`);
    }
  }
  rmSync(work, { recursive: true, force: true });
}

// ---------------------------------------------------------------- processes

/**
 * Runs a runtime verb. Its stdout and stderr go to files, never pipes: a
 * created init inherits them, and a pipe it held would keep spawnSync waiting
 * until the container exits. Throws with stderr on failure.
 */
export function invoke(rt: Runtime, args: string[]): { ms: number; stdout: string } {
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

/**
 * CPU time (user + sys, ms) of a command and the children it waited for.
 * bash's `times` prints getrusage(RUSAGE_CHILDREN) to the millisecond;
 * /usr/bin/time's %U/%S only to 10 ms, too coarse for a 20 ms `node -e 0`.
 * bash itself is the parent, so its own start-up is not in that line.
 * Its stdin is /dev/null: on a socket (node's default stdio) with SHLVL
 * unset or 0, as when the bench runs detached, Debian's bash takes itself
 * for a remote shell and runs ~/.bashrc, whose children (~100 ms here, a
 * pyenv init) then land in that line too.
 */
export function cpuMs(argv: string[], env: NodeJS.ProcessEnv = process.env): number {
  const errPath = join(work, 'cpu.err');
  const script = 'err=$1; shift; "$@" >/dev/null 2>"$err"; rc=$?; times; exit $rc';
  const r = spawnSync('bash', ['-c', script, 'bench-cpu', errPath, ...argv], { env, encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${readFileSync(errPath, 'utf8')}`);
  const children = r.stdout.trim().split('\n')[1] ?? '';
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(children.trim());
  if (!m) throw new Error(`cannot parse bash times output: ${JSON.stringify(r.stdout)}`);
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}

export interface AsyncResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs a command without waiting for it (the parallel rows); stderr through a file, for the reason a created init holds it. */
export function runAsync(argv: string[], errPath: string, timeoutMs = 120000): Promise<AsyncResult> {
  const err = openSync(errPath, 'w');
  return new Promise((resolvePromise) => {
    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', err] });
    } finally {
      closeSync(err);
    }
    inFlight.add(child);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const done = (code: number | null, signal: NodeJS.Signals | null, extra = ''): void => {
      clearTimeout(timer);
      inFlight.delete(child);
      let stderr = extra;
      try {
        stderr = readFileSync(errPath, 'utf8') + extra;
      } catch {
        // removed by an interrupt's cleanup
      }
      resolvePromise({ code, signal, stderr });
    };
    child.on('error', (e) => done(null, null, `spawn: ${e.message}`));
    child.on('exit', (code, signal) => done(code, signal));
  });
}

function procState(pid: number): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
}

/** Running or sleeping: not gone, not a zombie. */
export function isLive(pid: number): boolean {
  const st = procState(pid);
  return st !== null && st !== 'Z' && st !== 'X';
}

export function waitGone(pid: number, timeoutMs = 10000): void {
  const deadline = Date.now() + timeoutMs;
  while (isLive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not stop`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  }
}

/** Live processes (not this one) whose command line contains `needle`. */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(needle) && isLive(pid)) pids.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Mount points at or under `dir`, deepest last. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mp): mp is string => mp !== undefined && (mp === dir || mp.startsWith(`${dir}/`)));
}

/** Mount points of the cgroup hierarchies (v1 controllers, name=systemd, cgroup2). */
export function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => / - cgroup2? /.test(line))
    .map((line) => line.split(' ')[4]);
}

/** The first lines of an error output, on one line. */
export function firstLines(text: string, n = 2): string {
  return text.trim().split('\n').slice(0, n).join(' | ').slice(0, 300);
}
