// Shared by the podman and containerd suites: finding the engines' binaries,
// running their CLIs with output in files (a detached container or a shim
// may hold a pipe open long after the command returns), and what a run may
// have left behind (processes, mounts, tsrun state directories).
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, liveProcessesMentioning, mountsUnder, tempDir } from './harness';

/** Absolute path of `name` on PATH (plus the sbin directories), or undefined. */
export function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The first of `names` that is not installed, or undefined when all are. */
export function missingBinary(...names: string[]): string | undefined {
  return names.find((n) => which(n) === undefined);
}

export interface CmdResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with stdout/stderr in files under `ioDir`. */
export function runCommand(
  ioDir: string,
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string; cwd?: string } = {},
): CmdResult {
  const stamp = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const outPath = join(ioDir, `${stamp}.out`);
  const errPath = join(ioDir, `${stamp}.err`);
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  try {
    const r = spawnSync(argv[0], argv.slice(1), {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', out, err],
      input: opts.input,
      env: opts.env ?? process.env,
      timeout: opts.timeoutMs ?? 60000,
      cwd: opts.cwd,
    });
    const result = { status: r.status, signal: r.signal, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8') };
    if (r.error) result.stderr += `\n(spawn: ${r.error.message})`;
    return result;
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(outPath, { force: true });
    rmSync(errPath, { force: true });
  }
}

/** A description of a failed command, for assertion messages. */
export function describeResult(argv: string[], r: CmdResult): string {
  return `${argv.join(' ')} -> ${r.status ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

/** The filesystem type of the mount holding `path` (from mountinfo), e.g. ext4 or overlay. */
export function fsTypeOf(path: string): string {
  let best = '';
  let type = '';
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    const inside = path === mountPoint || path.startsWith(mountPoint === '/' ? '/' : `${mountPoint}/`);
    if (inside && mountPoint.length >= best.length) {
      best = mountPoint;
      type = line.slice(sep + 3).split(' ')[0];
    }
  }
  return type;
}

/**
 * True when overlay mounts can be made under `dir`: not when `dir` is itself
 * on overlayfs (CI inside a container), where the engines' overlay drivers
 * fail and the tests use the copying ones (podman vfs, containerd native).
 */
export function overlayUsableUnder(dir: string): boolean {
  return fsTypeOf(dir) !== 'overlay';
}

/** Entries of `dir` (a tsrun --root) naming containers, i.e. state left behind. */
export function stateDirsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((e) => !e.startsWith('.') && !e.endsWith('.lock'));
}

/** Everything found alive, mounted or stored that a run should have removed. */
export function leftovers(opts: { mountRoots: string[]; processNeedles: string[]; pids: number[]; stateRoots: string[] }): string[] {
  const found: string[] = [];
  for (const root of opts.mountRoots) found.push(...mountsUnder(root).map((m) => `mount ${m}`));
  for (const needle of opts.processNeedles) found.push(...liveProcessesMentioning(needle).map((p) => `process ${p} mentioning ${needle}`));
  for (const pid of opts.pids) if (isAlive(pid)) found.push(`container process ${pid}`);
  for (const root of opts.stateRoots) found.push(...stateDirsIn(root).map((e) => `tsrun state ${join(root, e)}`));
  return found;
}

/** Kills (SIGKILL) every live process whose command line mentions `needle`. */
export function killMentioning(needle: string): void {
  for (const pid of liveProcessesMentioning(needle)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** Unmounts (lazily, deepest first) everything mounted under `dir`, then removes it. */
export function removeTree(dir: string): void {
  for (const mp of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', mp]);
  rmSync(dir, { recursive: true, force: true });
}

export { tempDir };

/** A mounted cgroup hierarchy: its mount point and the cgroup its root shows. */
interface HierarchyMount {
  mountPoint: string;
  root: string;
}

/** Mounted hierarchies by the name /proc/<pid>/cgroup gives them: "" (cgroup2), "name=systemd", "cpu,cpuacct", ... */
function hierarchyMounts(): Map<string, HierarchyMount> {
  const mounts = new Map<string, HierarchyMount>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , options = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const [, , , root, mountPoint] = line.slice(0, sep).split(' ');
    // v1: the controllers (and name=) in the order the kernel lists them in /proc/<pid>/cgroup.
    const name = fstype === 'cgroup2' ? '' : options.split(',').filter((o) => !['rw', 'ro', 'clone_children', 'noprefix', 'xattr'].includes(o) && !o.startsWith('release_agent=')).join(',');
    if (!mounts.has(name)) mounts.set(name, { mountPoint, root });
  }
  return mounts;
}

/**
 * The directories of a process' cgroups, by hierarchy name as in
 * /proc/<pid>/cgroup ("" for cgroup2), for the hierarchies mounted here.
 */
export function cgroupDirsOfProcess(pid: number): Map<string, string> {
  const mounts = hierarchyMounts();
  const dirs = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    const mount = match && mounts.get(match[1]);
    if (!match || !mount) continue;
    const below = mount.root === '/' ? match[2] : match[2].slice(mount.root.length);
    dirs.set(match[1], join(mount.mountPoint, below));
  }
  return dirs;
}
