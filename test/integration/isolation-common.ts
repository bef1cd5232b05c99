// Shared by the isolation-*.test.ts suites: one Fixture per test owns the
// state root, bundles, temp dirs, containers and host helper processes the
// test made; isolated() runs a test body and then always cleans up and checks
// that nothing was left behind (state dir, mount under a bundle or temp dir,
// live container process, tsrun process, cgroup), failing the test if so.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { NamespaceType, Spec } from '../../src/spec/types';
import {
  Runtime,
  TSRUN,
  isAlive,
  liveProcessesMentioning,
  makeBundle,
  mountsUnder,
  tempDir,
  uniqueId,
  type Bundle,
  type Result,
} from '../helpers/harness';

export interface Ran extends Result {
  id: string;
  /** The init pid tsrun wrote to --pid-file (0 if it wrote none). */
  pid: number;
}

export interface Detached {
  id: string;
  pid: number;
  /** What the container wrote to its stdout so far. */
  stdout(): string;
  stderr(): string;
}

export interface Background {
  id: string;
  child: ChildProcess;
  /** Resolves when the tsrun process has exited. */
  done: Promise<Result>;
  stdout(): string;
  pidFile: string;
}

/** JSON of a string, cut to its first 2000 characters. */
export function clip(text: string): string {
  return JSON.stringify(text.length > 2000 ? `${text.slice(0, 2000)}... (${text.length} chars)` : text);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function waitFor<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The namespace link (e.g. "net:[4026531833]") of a process, as readlink shows it. */
export function nsLink(pid: number | 'self', kind: string): string {
  return readlinkSync(`/proc/${pid}/ns/${kind}`);
}

/** Lines of text, trimmed, without empty ones. */
export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** The mountinfo line whose mount point is `mountPoint` (last one wins, as the kernel shows the top mount). */
export function mountinfoEntry(mountinfo: string, mountPoint: string): { options: string[]; fstype: string; superOptions: string[]; root: string } | undefined {
  let found: { options: string[]; fstype: string; superOptions: string[]; root: string } | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    if (fields[4] !== mountPoint) continue;
    const [fstype, , superOptions] = line.slice(sep + 3).split(' ');
    found = { root: fields[3], options: fields[5].split(','), fstype, superOptions: (superOptions ?? '').split(',') };
  }
  return found;
}

export function removeNamespace(spec: Spec, type: NamespaceType): void {
  if (spec.linux?.namespaces) spec.linux.namespaces = spec.linux.namespaces.filter((ns) => ns.type !== type);
}

/** Adds a namespace of `type` (joined at `path` if given), replacing any of that type. */
export function addNamespace(spec: Spec, type: NamespaceType, path?: string): void {
  spec.linux = spec.linux ?? {};
  const namespaces = (spec.linux.namespaces ?? []).filter((ns) => ns.type !== type);
  namespaces.push(path === undefined ? { type } : { type, path });
  spec.linux.namespaces = namespaces;
}

export class Fixture {
  readonly runtime = new Runtime();
  private readonly io = tempDir('tsrun-iso-io-');
  private readonly ids = new Set<string>();
  private readonly bundles: Bundle[] = [];
  private readonly dirs: string[] = [];
  private readonly containerPids = new Set<number>();
  private readonly helpers: ChildProcess[] = [];
  private readonly tsrunChildren: ChildProcess[] = [];
  private serial = 0;

  id(prefix = 'iso'): string {
    const id = uniqueId(prefix);
    this.ids.add(id);
    return id;
  }

  bundle(args: string[], mutate?: (spec: Spec) => void): Bundle {
    const bundle = makeBundle(args, mutate);
    this.bundles.push(bundle);
    return bundle;
  }

  /** A temporary directory on the host, removed (after the leftover checks) at cleanup. */
  dir(prefix = 'tsrun-iso-'): string {
    const dir = tempDir(prefix);
    this.dirs.push(dir);
    return dir;
  }

  private ioPath(what: string): string {
    return join(this.io, `${this.serial++}.${what}`);
  }

  private trackPidFile(pidFile: string): number {
    if (!existsSync(pidFile)) return 0;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (pid > 0) this.containerPids.add(pid);
    return pid;
  }

  /** `tsrun run` in the foreground, stdio through pipes; `input` is the container's stdin. */
  run(bundle: Bundle, opts: { input?: string; extra?: string[]; timeoutMs?: number } = {}): Ran {
    const id = this.id();
    const pidFile = this.ioPath('pid');
    const r = this.runtime.run(['run', '--bundle', bundle.dir, '--pid-file', pidFile, ...(opts.extra ?? []), id], {
      input: opts.input,
      timeoutMs: opts.timeoutMs,
    });
    return { ...r, id, pid: this.trackPidFile(pidFile) };
  }

  /** run() that throws with stderr unless tsrun (and so the container's process) exits 0. */
  runOk(bundle: Bundle, opts: { input?: string; extra?: string[] } = {}): Ran {
    const r = this.run(bundle, opts);
    if (r.status !== 0) throw new Error(`tsrun run exited ${r.status ?? r.signal}: stdout ${clip(r.stdout)} stderr ${clip(r.stderr)}`);
    return r;
  }

  /**
   * `tsrun run --detach`: the container keeps running; its stdout and stderr
   * go to files (a pipe it holds would keep a synchronous spawn waiting).
   */
  detach(bundle: Bundle, extra: string[] = []): Detached {
    const id = this.id();
    const pidFile = this.ioPath('pid');
    const outPath = this.ioPath('out');
    const errPath = this.ioPath('err');
    const out = openSync(outPath, 'w');
    const err = openSync(errPath, 'w');
    let r;
    try {
      r = spawnSync(TSRUN, ['--root', this.runtime.root, 'run', '--detach', '--bundle', bundle.dir, '--pid-file', pidFile, ...extra, id], {
        stdio: ['ignore', out, err],
        timeout: 30000,
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    const pid = this.trackPidFile(pidFile);
    if (r.status !== 0) throw new Error(`tsrun run --detach exited ${r.status ?? r.signal}: ${readFileSync(errPath, 'utf8')}`);
    if (pid <= 0) throw new Error('tsrun run --detach wrote no pid file');
    return { id, pid, stdout: () => readFileSync(outPath, 'utf8'), stderr: () => readFileSync(errPath, 'utf8') };
  }

  /** `tsrun run` in the foreground without waiting for it; stdout piped. */
  background(bundle: Bundle): Background {
    const id = this.id();
    const pidFile = this.ioPath('pid');
    const child = spawn(TSRUN, ['--root', this.runtime.root, 'run', '--bundle', bundle.dir, '--pid-file', pidFile, id], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.tsrunChildren.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const done = new Promise<Result>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (status, signal) => {
        this.trackPidFile(pidFile);
        resolve({ status, signal, stdout, stderr });
      });
    });
    return {
      id,
      child,
      done,
      stdout: () => stdout,
      pidFile,
    };
  }

  /** Records a container pid learned some other way. */
  trackContainerPid(pid: number): number {
    if (pid > 0) this.containerPids.add(pid);
    return pid;
  }

  /** A host process the test needs (e.g. `unshare ... sleep`), killed at cleanup. */
  helper(command: string, args: string[]): ChildProcess {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.helpers.push(child);
    return child;
  }

  /** Undoes everything; returns the list of things that were left behind. */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    const attempt = (what: string, fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    for (const child of [...this.helpers, ...this.tsrunChildren]) attempt('killing a helper', () => killChild(child));
    for (const child of [...this.helpers, ...this.tsrunChildren]) await exited(child);
    for (const id of this.ids) {
      attempt(`delete --force ${id}`, () => {
        const r = this.runtime.run(['delete', '--force', id]);
        if (r.status !== 0) throw new Error(`exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
      });
    }
    // The checks: nothing may be left once delete --force has returned.
    // Anything at all: a state dir, or a lock a killed tsrun never released.
    const states = this.runtime.leftoverStateDirs();
    if (states.length > 0) problems.push(`state left under ${this.runtime.root}: ${states.join(', ')}`);
    for (const pid of this.containerPids) {
      // An init whose parent is not us is reaped by the system's init; give it a moment.
      const deadline = Date.now() + 3000;
      while (isAlive(pid) && Date.now() < deadline) await sleep(20);
      if (isAlive(pid)) {
        problems.push(`container process ${pid} still alive`);
        attempt(`kill ${pid}`, () => process.kill(pid, 'SIGKILL'));
      }
    }
    const tsruns = liveProcessesMentioning(this.runtime.root);
    if (tsruns.length > 0) {
      problems.push(`tsrun processes still alive: ${tsruns.join(', ')}`);
      for (const pid of tsruns) attempt(`kill ${pid}`, () => process.kill(pid, 'SIGKILL'));
    }
    for (const dir of [...this.bundles.map((b) => b.dir), ...this.dirs, this.io]) {
      const mounts = mountsUnder(dir);
      if (mounts.length > 0) {
        problems.push(`mounts left under ${dir}: ${mounts.join(', ')}`);
        // Never let rm recurse through a leaked mount into whatever it shows.
        for (const mp of mounts.reverse()) spawnSync('umount', ['-l', mp]);
      }
    }
    for (const id of this.ids) {
      const cgroups = cgroupDirsNamed(id);
      if (cgroups.length > 0) problems.push(`cgroups left: ${cgroups.join(', ')}`);
    }
    for (const bundle of this.bundles) attempt(`removing ${bundle.dir}`, () => bundle.remove());
    for (const dir of [...this.dirs, this.io]) attempt(`removing ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    attempt('removing the state root', () => this.runtime.destroy());
    return problems;
  }
}

function killChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Directories named `name` in the host's cgroup trees (a few levels deep). */
function cgroupDirsNamed(name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      if (entry.name === name) found.push(path);
      else if (depth > 0) walk(path, depth - 1);
    }
  };
  walk('/sys/fs/cgroup', 6);
  return found;
}

/**
 * Wraps a test body: a fresh Fixture, then cleanup and the leftover checks
 * whether the body passed or not. A body failure is reported first; leftovers
 * make an otherwise passing test fail.
 */
export function isolated(body: (this: Mocha.Context, fx: Fixture) => Promise<void> | void): (this: Mocha.Context) => Promise<void> {
  return async function (this: Mocha.Context) {
    const fx = new Fixture();
    let failure: unknown;
    try {
      await body.call(this, fx);
    } catch (err) {
      failure = err;
    }
    const problems = await fx.cleanup();
    if (failure !== undefined) {
      if (problems.length > 0 && failure instanceof Error) failure.message += `\n(and left behind: ${problems.join('; ')})`;
      throw failure;
    }
    if (problems.length > 0) throw new Error(`left behind: ${problems.join('; ')}`);
  };
}
