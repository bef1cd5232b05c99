// Shared by the integration tests: the built launcher, a busybox bundle per
// test, a private state root per suite, and leftover checks (state dirs,
// mounts, processes) so every test can prove it left nothing behind.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultSpec } from '../../src/spec/default-spec';
import type { Spec } from '../../src/spec/types';

export const REPO = resolve(__dirname, '..', '..', '..');
export const TSRUN = join(REPO, 'bin', 'tsrun');
export const BUSYBOX_ROOTFS = join(REPO, 'bundles', 'demo', 'rootfs');

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function toResult(r: SpawnSyncReturns<string>): Result {
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** A temporary directory removed (with anything mounted under it unmounted) by cleanup(). */
export function tempDir(prefix = 'tsrun-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export class Bundle {
  readonly rootfs: string;
  constructor(readonly dir: string) {
    this.rootfs = join(dir, 'rootfs');
  }

  get configPath(): string {
    return join(this.dir, 'config.json');
  }

  writeConfig(spec: unknown): void {
    writeFileSync(this.configPath, typeof spec === 'string' ? spec : JSON.stringify(spec, null, 2));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A bundle with its own copy of the busybox rootfs and runc's default config,
 * running `args` with no terminal; `mutate` edits the config before writing.
 */
export function makeBundle(args: string[] = ['true'], mutate?: (spec: Spec) => void): Bundle {
  const bundle = new Bundle(tempDir('tsrun-bundle-'));
  const copy = spawnSync('cp', ['-a', BUSYBOX_ROOTFS, bundle.rootfs]);
  if (copy.status !== 0) throw new Error(`copying the rootfs failed: ${copy.stderr}`);
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = args;
  mutate?.(spec);
  bundle.writeConfig(spec);
  return bundle;
}

/** A state root private to one suite, so tests never see each other's containers. */
export class Runtime {
  readonly root: string;
  constructor() {
    this.root = tempDir('tsrun-root-');
  }

  run(args: string[], options: { input?: string; timeoutMs?: number; cwd?: string } = {}): Result {
    return toResult(
      spawnSync(TSRUN, ['--root', this.root, ...args], {
        encoding: 'utf8',
        input: options.input ?? '',
        timeout: options.timeoutMs ?? 30000,
        cwd: options.cwd,
      }),
    );
  }

  /** Runs and throws with stderr when the exit status is not 0. */
  ok(args: string[], options: { input?: string; timeoutMs?: number; cwd?: string } = {}): Result {
    const r = this.run(args, options);
    if (r.status !== 0) throw new Error(`tsrun ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
    return r;
  }

  state(id: string): { status: string; pid: number; [k: string]: unknown } {
    return JSON.parse(this.ok(['state', id]).stdout);
  }

  /** Container ids with a state dir left under the root. */
  leftoverStateDirs(): string[] {
    return existsSync(this.root) ? readdirSync(this.root) : [];
  }

  /** Force-deletes every container still there, then removes the root. */
  destroy(): void {
    for (const id of this.leftoverStateDirs()) {
      if (!id.endsWith('.lock')) this.run(['delete', '--force', id]);
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

let counter = 0;
export function uniqueId(prefix = 't'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

/** Mount points (from this process' mountinfo) at or below `path`. */
export function mountsUnder(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mp): mp is string => mp !== undefined && (mp === path || mp.startsWith(path + '/')));
}

/** Live (non-zombie) processes whose command line mentions `needle`. */
export function liveProcessesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    if (!isAlive(Number(name))) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'latin1');
      if (cmdline.includes(needle)) found.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** True when pid is a live, non-zombie process. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
