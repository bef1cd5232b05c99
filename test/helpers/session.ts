// One test's worth of tsrun: a private state root, the bundles and ids it
// made, and the tsrun processes it started, all undone by cleanup() whether
// the test passed or not. Commands run with stdout/stderr in files rather
// than pipes: a created container's init inherits tsrun's stdio, and a pipe
// it holds would keep a synchronous spawn waiting until the container exits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Runtime, TSRUN, makeBundle, tempDir, uniqueId, isAlive, mountsUnder, liveProcessesMentioning, type Bundle } from './harness';
import type { Spec } from '../../src/spec/types';

export interface Output {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Where the command's (and its container's) stdout went; read it again later for the container's output. */
  stdoutPath: string;
  stderrPath: string;
}

export interface Background {
  child: ChildProcess;
  /** Resolves when the tsrun process exits (not when its stdio closes). */
  done: Promise<Output>;
  stdout(): string;
}

export class Session {
  readonly runtime = new Runtime();
  private readonly io = tempDir('tsrun-io-');
  private readonly bundles: Bundle[] = [];
  private readonly ids = new Set<string>();
  private readonly children: ChildProcess[] = [];
  private readonly pids = new Set<number>();
  private serial = 0;

  get root(): string {
    return this.runtime.root;
  }

  bundle(args: string[] = ['true'], mutate?: (spec: Spec) => void): Bundle {
    const b = makeBundle(args, mutate);
    this.bundles.push(b);
    return b;
  }

  id(prefix = 'lc'): string {
    const id = uniqueId(prefix);
    this.ids.add(id);
    return id;
  }

  /** A process the test made that cleanup must kill if it is still there. */
  track(pid: number): void {
    if (pid > 0) this.pids.add(pid);
  }

  private files(): { stdoutPath: string; stderrPath: string } {
    const n = this.serial++;
    return { stdoutPath: join(this.io, `${n}.out`), stderrPath: join(this.io, `${n}.err`) };
  }

  /** Runs `tsrun --root <root> ...args` to completion. */
  exec(args: string[], opts: { timeoutMs?: number; globals?: string[]; env?: NodeJS.ProcessEnv } = {}): Output {
    const { stdoutPath, stderrPath } = this.files();
    const out = openSync(stdoutPath, 'w');
    const err = openSync(stderrPath, 'w');
    try {
      const r = spawnSync(TSRUN, [...(opts.globals ?? ['--root', this.root]), ...args], {
        stdio: ['ignore', out, err],
        timeout: opts.timeoutMs ?? 30000,
        env: opts.env ?? process.env,
      });
      return { status: r.status, signal: r.signal, stdout: readFileSync(stdoutPath, 'utf8'), stderr: readFileSync(stderrPath, 'utf8'), stdoutPath, stderrPath };
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  /** exec() that throws with stderr unless tsrun exits 0. */
  ok(args: string[], opts: { timeoutMs?: number; globals?: string[] } = {}): Output {
    const r = this.exec(args, opts);
    if (r.status !== 0) throw new Error(`tsrun ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
    return r;
  }

  /** Starts `tsrun --root <root> ...args` without waiting for it. */
  spawn(args: string[]): Background {
    const { stdoutPath, stderrPath } = this.files();
    const out = openSync(stdoutPath, 'w');
    const err = openSync(stderrPath, 'w');
    const child = spawn(TSRUN, ['--root', this.root, ...args], { stdio: ['ignore', out, err] });
    closeSync(out);
    closeSync(err);
    this.children.push(child);
    const done = new Promise<Output>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (status, signal) =>
        resolve({ status, signal, stdout: readFileSync(stdoutPath, 'utf8'), stderr: readFileSync(stderrPath, 'utf8'), stdoutPath, stderrPath }),
      );
    });
    return { child, done, stdout: () => readFileSync(stdoutPath, 'utf8') };
  }

  /** Creates a container (stdout/stderr to files) and returns its init pid. */
  create(id: string, bundle: Bundle, extra: string[] = []): { pid: number; out: Output } {
    const out = this.ok(['create', '--bundle', bundle.dir, ...extra, id]);
    const pid = this.runtime.state(id).pid;
    this.track(pid);
    return { pid, out };
  }

  state(id: string): { status: string; pid: number; [k: string]: unknown } {
    return this.runtime.state(id);
  }

  stateDir(id: string): string {
    return join(this.root, id);
  }

  /** Everything under the state root (ids, locks, temp files). */
  rootEntries(): string[] {
    return existsSync(this.root) ? readdirSync(this.root) : [];
  }

  cleanup(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const id of this.ids) this.exec(['delete', '--force', id]);
    for (const pid of this.pids) {
      if (isAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    // Anything still naming this test's private root is ours: a tsrun process
    // or an init that was never recorded.
    for (const pid of liveProcessesMentioning(this.root)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    this.runtime.destroy();
    // A cgroup that a failed command left: empty once its processes are dead.
    for (const id of this.ids) {
      for (const dir of cgroupDirsOf(id)) {
        try {
          rmdirSync(dir);
        } catch {
          // still busy: the leftover check reports it
        }
      }
    }
    for (const b of this.bundles) {
      for (const mp of mountsUnder(b.dir).reverse()) spawnSync('umount', ['-l', mp]);
      b.remove();
    }
    rmSync(this.io, { recursive: true, force: true });
  }

  /** Asserts-friendly summary of what a container could have left: state, mounts, processes. */
  leftovers(bundle: Bundle | null, ...needles: string[]): string[] {
    const found: string[] = this.rootEntries().map((e) => `state root entry ${e}`);
    if (bundle) found.push(...mountsUnder(bundle.dir).map((m) => `mount ${m}`));
    for (const n of [this.root, ...(bundle ? [bundle.dir] : []), ...needles]) {
      found.push(...liveProcessesMentioning(n).map((p) => `process ${p} mentioning ${n}`));
    }
    for (const pid of this.pids) if (isAlive(pid)) found.push(`live container process ${pid}`);
    for (const id of needles) found.push(...cgroupDirsOf(id).map((d) => `cgroup ${d}`));
    return found;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true; false after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 5000, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(stepMs);
  }
}

/** Field of /proc/<pid>/status, e.g. PPid or VmRSS. */
export function procStatus(pid: number, field: string): string | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    return line?.slice(field.length + 1).trim();
  } catch {
    return undefined;
  }
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** Live processes in the same pid namespace as `pid` (including it). */
export function processesInPidNamespaceOf(pid: number): number[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) === ns && isAlive(Number(name))) found.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Lines of `text` that are not empty. */
export function nonEmptyLines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

export { isAlive };

/**
 * Cgroup directories named after container `id` where tsrun puts them by
 * default (<mount>/<our own cgroup or its parent>/tsrun/<id>, or <mount>/tsrun/<id>).
 */
export function cgroupDirsOf(id: string): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => {
      const sep = f.indexOf('-');
      return sep > 0 && (f[sep + 1] === 'cgroup' || f[sep + 1] === 'cgroup2');
    })
    .map((f) => f[4]);
  const own = new Set(['/']);
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const path = line.split(':').slice(2).join(':');
    // On a unified host tsrun joins relative paths to our cgroup's parent.
    if (path) own.add(path).add(dirname(path));
  }
  const found = new Set<string>();
  for (const m of mounts) {
    for (const p of own) {
      const dir = join(m, p, 'tsrun', id);
      if (existsSync(dir)) found.add(dir);
    }
  }
  return [...found];
}
