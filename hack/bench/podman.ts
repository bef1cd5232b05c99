// `podman run --rm` end to end with tsrun or runc as its OCI runtime, the way
// test/integration/podman.test.ts drives podman: a private store and config
// under the bench's temp dir (--root, --runroot, --tmpdir, file events and
// locks, no network), cgroupfs as the cgroup manager, and the bench's busybox
// rootfs made into an image by `podman import`; nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupMounts, mountsUnder, nextSerial, NODE_FLOOR_RUNTIME, now, onCleanup, processesMentioning, progress, tick, work } from './common';

const IMAGE = 'localhost/tsrun-bench-busybox:latest';
/**
 * podman asks for RLIMIT_NOFILE/NPROC hard limits above what some hosts
 * allow to raise; both runtimes get these lower ones, so they start alike.
 */
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];
/** Where each runtime keeps state when podman passes it no --root (podman passes none). */
const DEFAULT_ROOTS = ['/run/tsrun', '/run/runc'];

export interface PodmanResult {
  /** Wall ms of each `podman run --rm`, by runtime name. */
  wall: Map<string, number[]>;
  leaks: string[];
  driver: string;
}

interface Store {
  dir: string;
  env: NodeJS.ProcessEnv;
  global: string[];
  driver: string;
}

function findBinary(name: string, extra: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/bin', '/usr/bin', '/usr/sbin', '/bin', '/sbin'];
  for (const path of [...dirs.filter((d) => d !== '').map((d) => join(d, name)), ...extra]) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Why the podman row cannot be measured here, or undefined when it can. */
export function podmanMissing(): string | undefined {
  if (!findBinary('podman')) return 'podman is not installed';
  if (!findBinary('conmon', ['/usr/libexec/podman/conmon', '/usr/lib/podman/conmon'])) return 'conmon is not installed';
  return undefined;
}

/** overlay, unless the temp dir is itself on overlayfs (inside a container), where only vfs works. */
function driverFor(dir: string): string {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => ({ mp: l.split(' ')[4] ?? '', type: l.split(' - ')[1]?.split(' ')[0] ?? '' }))
    .filter((m) => dir === m.mp || dir.startsWith(m.mp === '/' ? '/' : `${m.mp}/`))
    .sort((a, b) => b.mp.length - a.mp.length)[0];
  return line?.type === 'overlay' ? 'vfs' : 'overlay';
}

function makeStore(tsrun: string): Store {
  const dir = join(work, 'podman');
  for (const d of ['root', 'runroot', 'tmp', 'io']) mkdirSync(join(dir, d), { recursive: true });
  const driver = driverFor(dir);
  const conf = [
    '[engine]', 'cgroup_manager = "cgroupfs"', 'events_logger = "file"', 'lock_type = "file"', `tmp_dir = "${join(dir, 'tmp')}"`,
    `runtime_supports_json = ["tsrun", "runc", "crun", "${NODE_FLOOR_RUNTIME}"]`, '[engine.runtimes]', `tsrun = ["${tsrun}"]`, '',
  ];
  writeFileSync(join(dir, 'containers.conf'), conf.join('\n'));
  writeFileSync(join(dir, 'storage.conf'), `[storage]\ndriver = "${driver}"\ngraphroot = "${join(dir, 'root')}"\nrunroot = "${join(dir, 'runroot')}"\n`);
  writeFileSync(join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: dir,
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
  };
  const global = ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), '--storage-driver', driver, '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  const store = { dir, env, global, driver };
  onCleanup('podman store', () => destroyStore(store));
  return store;
}

/** Removes the containers, the store (podman unmounts its layers), anything still mounted, and podman's empty cgroup parents. */
function destroyStore(store: Store): void {
  const opts = { env: store.env, stdio: 'ignore' as const, timeout: 60000 };
  spawnSync('podman', [...store.global, 'rm', '-a', '-f', '-t', '0'], opts);
  spawnSync('podman', [...store.global, 'system', 'reset', '-f'], opts);
  for (const pid of processesMentioning(store.dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  for (const mp of mountsUnder(store.dir).reverse()) spawnSync('umount', ['-l', mp]);
  rmSync(store.dir, { recursive: true, force: true });
  // cgroupfs podman makes libpod_parent (and conmon's cgroup in it) and
  // never removes them; rmdir only succeeds when another podman has none there
  for (const mount of cgroupMounts()) {
    for (const d of ['libpod_parent/conmon', 'libpod_parent']) {
      try {
        rmdirSync(join(mount, d));
      } catch {
        // absent or in use
      }
    }
  }
}

function podman(store: Store, args: string[], timeout = 120000): { ms: number; status: number | null; stderr: string } {
  const errPath = join(store.dir, 'io', 'err');
  const err = openSync(errPath, 'w');
  const t0 = now();
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync('podman', [...store.global, ...args], { stdio: ['ignore', 'ignore', err], env: store.env, timeout });
  } finally {
    closeSync(err);
  }
  return { ms: now() - t0, status: r.status, stderr: readFileSync(errPath, 'utf8') };
}

function importImage(store: Store, rootfs: string): void {
  const tar = spawnSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 1 << 30 });
  if (tar.status !== 0) throw new Error(`tar of ${rootfs} failed: ${tar.stderr}`);
  const r = spawnSync('podman', [...store.global, 'import', '-', IMAGE], { input: tar.stdout, env: store.env, encoding: 'utf8', timeout: 300000 });
  if (r.status !== 0) throw new Error(`podman import failed: ${r.stderr}`);
}

/** One `podman run --rm IMAGE true`; returns its wall ms and the container id (from --cidfile). */
function runOnce(store: Store, runtimePath: string): { ms: number; id: string } {
  const cidfile = join(store.dir, 'io', `cid-${nextSerial()}`);
  const args = ['--runtime', runtimePath, 'run', '--rm', '--network=none', ...ULIMITS, '--cidfile', cidfile, IMAGE, 'true'];
  const r = podman(store, args);
  if (r.status !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const id = existsSync(cidfile) ? readFileSync(cidfile, 'utf8').trim() : '';
  rmSync(cidfile, { force: true });
  return { ms: r.ms, id };
}

/** What the containers may have left: runtime state, libpod cgroups, processes, podman's records. */
function leftovers(store: Store, ids: string[]): string[] {
  const found: string[] = [];
  for (const id of ids) {
    for (const root of DEFAULT_ROOTS) if (existsSync(join(root, id))) found.push(`state ${join(root, id)}`);
    for (const mount of cgroupMounts()) if (existsSync(join(mount, 'libpod_parent', `libpod-${id}`))) found.push(`cgroup ${join(mount, 'libpod_parent', `libpod-${id}`)}`);
    found.push(...processesMentioning(id).map((pid) => `process ${pid} naming ${id.slice(0, 12)}`));
  }
  const ps = spawnSync('podman', [...store.global, 'ps', '-a', '-q'], { env: store.env, encoding: 'utf8' });
  if (ps.stdout.trim() !== '') found.push(`podman containers ${ps.stdout.trim().split('\n').join(' ')}`);
  return found;
}

/**
 * `runs` podman runs per runtime, alternating, after one warm-up each. The
 * leak check waits up to 10 s: conmon starts `podman container cleanup` when
 * the container exits, and that may outlive the `podman run` command.
 */
export async function measurePodman(runtimes: { name: string; path: string }[], runs: number, rootfs: string): Promise<PodmanResult> {
  const tsrun = runtimes.find((r) => r.name === 'tsrun')!.path;
  const store = makeStore(tsrun);
  progress(`podman: importing the busybox rootfs (${store.driver} driver)`);
  importImage(store, rootfs);
  const wall = new Map(runtimes.map((r) => [r.name, [] as number[]]));
  const ids: string[] = [];
  for (const rt of runtimes) ids.push(runOnce(store, rt.path).id);
  for (let i = 0; i < runs; i++) {
    await tick();
    for (const rt of runtimes) {
      const r = runOnce(store, rt.path);
      wall.get(rt.name)!.push(r.ms);
      ids.push(r.id);
    }
  }
  let leaks = leftovers(store, ids);
  for (const deadline = Date.now() + 10000; leaks.length > 0 && Date.now() < deadline; leaks = leftovers(store, ids)) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  return { wall, leaks, driver: store.driver };
}
