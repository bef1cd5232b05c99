// A podman with a private world under a temp dir: its own containers.conf
// and storage.conf, --root/--runroot/--tmpdir, file events and file locks,
// no network, and tsrun as its runtime. The machine's podman storage is
// never touched. Used by the podman tests and the image tests.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TSRUN } from './harness';
import { cmdline, waitFor } from './session';
import { describeResult, killMentioning, leftovers, overlayUsableUnder, removeTree, runCommand, tempDir, type CmdResult } from './engines';
import { systemdIsInit } from './systemd-host';

/** Where tsrun keeps state when podman passes no --root (podman passes none by default). */
export const TSRUN_DEFAULT_ROOT = '/run/tsrun';

/** The host's cgroup manager: systemd's scopes where it is the init, else podman's own directories. */
export const CGROUP_MANAGER = systemdIsInit() ? 'systemd' : 'cgroupfs';

/** Mount points of the cgroup hierarchies. */
export function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => / - cgroup2? /.test(line))
    .map((line) => line.split(' ')[4]);
}

export class Podman {
  readonly dir = tempDir('tsrun-podman-');
  readonly io = join(this.dir, 'io');
  readonly env: NodeJS.ProcessEnv;
  /** overlay, or vfs where the temp dir is itself on overlayfs. */
  readonly driver = overlayUsableUnder(this.dir) ? 'overlay' : 'vfs';
  readonly global: string[];
  private serial = 0;

  constructor() {
    mkdirSync(this.io);
    for (const d of ['root', 'runroot', 'tmp', 'net', 'volumes']) mkdirSync(join(this.dir, d));
    // tsrun is a JSON-capable runtime: podman then passes --log FILE
    // --log-format=json and reads the error from that file.
    writeFileSync(
      join(this.dir, 'containers.conf'),
      [
        '[engine]',
        `cgroup_manager = "${CGROUP_MANAGER}"`,
        'events_logger = "file"',
        'lock_type = "file"',
        `tmp_dir = "${join(this.dir, 'tmp')}"`,
        `volume_path = "${join(this.dir, 'volumes')}"`,
        'runtime_supports_json = ["tsrun", "runc", "crun"]',
        '[engine.runtimes]',
        `tsrun = ["${TSRUN}"]`,
        '[network]',
        `network_config_dir = "${join(this.dir, 'net')}"`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(this.dir, 'storage.conf'),
      ['[storage]', `driver = "${this.driver}"`, `graphroot = "${join(this.dir, 'root')}"`, `runroot = "${join(this.dir, 'runroot')}"`, ''].join('\n'),
    );
    this.env = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: this.dir,
      CONTAINERS_CONF: join(this.dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(this.dir, 'storage.conf'),
      CONTAINERS_REGISTRIES_CONF: join(this.dir, 'registries.conf'),
    };
    writeFileSync(join(this.dir, 'registries.conf'), 'unqualified-search-registries = []\n');
    this.global = [
      '--root', join(this.dir, 'root'),
      '--runroot', join(this.dir, 'runroot'),
      '--tmpdir', join(this.dir, 'tmp'),
      '--storage-driver', this.driver,
      '--cgroup-manager', CGROUP_MANAGER,
      '--events-backend', 'file',
      '--runtime', TSRUN,
    ];
  }

  argv(args: string[]): string[] {
    return ['podman', ...this.global, ...args];
  }

  run(args: string[], opts: { timeoutMs?: number; input?: string } = {}): CmdResult {
    return runCommand(this.io, this.argv(args), { env: this.env, timeoutMs: opts.timeoutMs ?? 180000, input: opts.input });
  }

  ok(args: string[], opts: { timeoutMs?: number } = {}): CmdResult {
    const r = this.run(args, opts);
    assert.equal(r.status, 0, describeResult(this.argv(args), r));
    return r;
  }

  name(): string {
    return `tsrun-${process.pid}-${this.serial++}`;
  }

  cidfile(): string {
    return join(this.dir, `cid-${this.serial++}`);
  }

  /** The full id and host pid of a running container. */
  inspect(name: string): { id: string; pid: number } {
    const r = this.ok(['inspect', '--format', '{{.Id}} {{.State.Pid}}', name]);
    const [id, pid] = r.stdout.trim().split(' ');
    return { id, pid: Number(pid) };
  }

  /** What containers with these ids may have left: state, mounts, conmon, processes. */
  leftovers(ids: string[], pids: number[] = []): string[] {
    // containers/storage bind-mounts its overlay home on itself (private) for
    // as long as the store exists: that one is podman's, removed by destroy()
    const storageHome = join(this.dir, 'root', this.driver);
    const found = leftovers({ mountRoots: [this.dir], processNeedles: [this.dir, ...ids], pids, stateRoots: [] }).filter(
      (l) => l !== `mount ${storageHome}`,
    );
    for (const id of ids) if (existsSync(join(TSRUN_DEFAULT_ROOT, id))) found.push(`tsrun state ${join(TSRUN_DEFAULT_ROOT, id)}`);
    const ps = this.run(['ps', '-a', '-q', '--no-trunc']);
    if (ps.stdout.trim() !== '') found.push(`podman containers: ${ps.stdout.trim()}`);
    return found.map((l) => l.replace(/^process (\d+) .*$/, (m, pid: string) => `${m}: ${cmdline(Number(pid)).slice(0, 200)}`));
  }

  /**
   * Asserts that nothing is left, allowing a few seconds for the cleanup that
   * conmon starts when a container exits (`podman container cleanup`), which
   * may still be running when the podman command returns.
   */
  async assertClean(ids: string[], pids: number[] = []): Promise<void> {
    let found: string[] = [];
    await waitFor(() => (found = this.leftovers(ids, pids)).length === 0, 60000, 200);
    assert.deepEqual(found, []);
  }

  destroy(): void {
    this.run(['rm', '-a', '-f', '-t', '0']);
    killMentioning(this.dir);
    removeTree(this.dir);
    // podman's cgroupfs parents (libpod_parent, and conmon's cgroup in it):
    // rmdir only removes them once empty, so another podman's stay
    for (const mount of cgroupMounts()) {
      for (const dir of ['libpod_parent/conmon', 'libpod_parent']) {
        try {
          rmdirSync(join(mount, dir));
        } catch {
          // absent or in use
        }
      }
    }
  }
}

