// containerd (through containerd-shim-runc-v2) with tsrun as the runc
// binary: `ctr run --runc-binary <bin/tsrun>` for run --rm, run -d, task
// exec/kill/ps/pause/resume/delete and a terminal. The suite starts a
// private containerd (own config, root/state dirs and socket under a temp
// dir, no CRI plugin) and imports the test busybox rootfs as an OCI image
// layout built by test/helpers/oci-image.ts; nothing is downloaded.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_ROOTFS, TSRUN, isAlive } from '../helpers/harness';
import { cmdline, sleep, waitFor } from '../helpers/session';
import { describeResult, killMentioning, leftovers, missingBinary, removeTree, overlayUsableUnder, runCommand, stateDirsIn, tempDir, which, type CmdResult } from '../helpers/engines';
import { writeOciImageTar } from '../helpers/oci-image';

const IMAGE = 'docker.io/library/tsrun-busybox:test';

class Containerd {
  readonly dir = tempDir('tsrun-containerd-');
  readonly io = join(this.dir, 'io');
  readonly sock = join(this.dir, 'containerd.sock');
  /** A namespace of our own: it names the shims, the runc root and the cgroups. */
  readonly ns = `tsrun-test-${process.pid}-${Date.now().toString(36)}`;
  /** Where the shim keeps the runtime's state (--root) when ctr passes no --runc-root. */
  readonly runcRoot = join('/run/containerd/runc', this.ns);
  /** The snapshotter: overlayfs, or native where the temp dir is itself on overlayfs. */
  readonly snapshotter = overlayUsableUnder(this.dir) ? 'overlayfs' : 'native';
  private daemon?: ChildProcess;
  private serial = 0;

  async start(): Promise<void> {
    mkdirSync(this.io);
    const config = [
      'version = 2',
      `root = "${join(this.dir, 'root')}"`,
      `state = "${join(this.dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${this.sock}"`,
      '[ttrpc]',
      `  address = "${this.sock}.ttrpc"`,
      '[debug]',
      `  address = "${join(this.dir, 'debug.sock')}"`,
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${join(this.dir, 'opt')}"`,
      '',
    ].join('\n');
    writeFileSync(join(this.dir, 'config.toml'), config);
    const log = join(this.dir, 'containerd.log');
    const fd = openSync(log, 'w');
    this.daemon = spawn(which('containerd')!, ['--config', join(this.dir, 'config.toml')], { stdio: ['ignore', fd, fd], cwd: this.dir });
    closeSync(fd);
    const up = await waitFor(() => existsSync(this.sock) && this.ctr(['version']).status === 0, 20000, 100);
    assert.ok(up, `containerd did not come up: ${readLog(log)}`);
  }

  /** ctr's environment: the snapshotter it unpacks to and runs from. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, CONTAINERD_SNAPSHOTTER: this.snapshotter };
  }

  argv(args: string[]): string[] {
    return ['ctr', '-a', this.sock, '-n', this.ns, ...args];
  }

  ctr(args: string[], opts: { timeoutMs?: number } = {}): CmdResult {
    return runCommand(this.io, this.argv(args), { timeoutMs: opts.timeoutMs ?? 60000, cwd: this.dir, env: this.env() });
  }

  ok(args: string[], opts: { timeoutMs?: number } = {}): CmdResult {
    const r = this.ctr(args, opts);
    assert.equal(r.status, 0, describeResult(this.argv(args), r));
    return r;
  }

  id(): string {
    return `c${this.serial++}`;
  }

  /** `ctr run` with tsrun as the runc binary. */
  runArgs(...rest: string[]): string[] {
    return ['run', '--runc-binary', TSRUN, ...rest];
  }

  /** Task id -> {pid, status} from `ctr task ls`. */
  tasks(): Map<string, { pid: number; status: string }> {
    const out = new Map<string, { pid: number; status: string }>();
    for (const line of this.ok(['task', 'ls']).stdout.split('\n').slice(1)) {
      const [id, pid, status] = line.trim().split(/\s+/);
      if (id) out.set(id, { pid: Number(pid), status });
    }
    return out;
  }

  /** What the containers may have left: shims, processes, mounts, tsrun state, bundles, cgroups. */
  leftovers(ids: string[], pids: number[] = []): string[] {
    const found = leftovers({ mountRoots: [this.dir], processNeedles: [this.ns], pids, stateRoots: [this.runcRoot] });
    const bundles = join(this.dir, 'state', 'io.containerd.runtime.v2.task', this.ns);
    for (const e of existsSync(bundles) ? readdirSync(bundles) : []) found.push(`bundle ${join(bundles, e)}`);
    for (const id of ids) for (const cg of cgroupDirs(join(this.ns, id))) found.push(`cgroup ${cg}`);
    const containers = this.ok(['containers', 'ls', '-q']).stdout.trim();
    if (containers !== '') found.push(`containers: ${containers}`);
    return found.map((l) => l.replace(/^process (\d+) .*$/, (m, pid: string) => `${m}: ${cmdline(Number(pid)).slice(0, 200)}`));
  }

  async assertClean(ids: string[], pids: number[] = []): Promise<void> {
    let found: string[] = [];
    await waitFor(() => (found = this.leftovers(ids, pids)).length === 0, 10000, 200);
    assert.deepEqual(found, []);
  }

  async stop(): Promise<void> {
    // whatever a failed test left: tasks, containers, then the shims themselves
    for (const [id] of this.daemon ? this.tasks() : []) {
      this.ctr(['task', 'kill', '-s', 'KILL', id]);
      this.ctr(['task', 'delete', '-f', id]);
    }
    for (const id of this.daemon ? this.ok(['containers', 'ls', '-q']).stdout.split('\n').filter(Boolean) : []) this.ctr(['containers', 'rm', id]);
    killMentioning(this.ns);
    if (this.daemon && this.daemon.exitCode === null) {
      const exited = new Promise((resolve) => this.daemon!.once('exit', resolve));
      this.daemon.kill('SIGTERM');
      await Promise.race([exited, sleep(10000)]);
      if (this.daemon.exitCode === null) this.daemon.kill('SIGKILL');
    }
    // the shims' tsrun state root and the namespace's parent cgroups
    for (const id of stateDirsIn(this.runcRoot)) runCommand(this.io, [TSRUN, '--root', this.runcRoot, 'delete', '--force', id]);
    removeTree(this.runcRoot);
    for (const cg of cgroupDirs(this.ns).reverse()) {
      try {
        rmdirSync(cg);
      } catch {
        // still busy: the test's own checks report it
      }
    }
    removeTree(this.dir);
  }
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

/** Directories named `rel` under each cgroup mount (ctr puts a container at /<namespace>/<id>). */
function cgroupDirs(rel: string): string[] {
  const found: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const dir = join(line.split(' ')[4], rel);
    if (existsSync(dir)) found.push(dir);
  }
  return found;
}

const missing = missingBinary('containerd', 'ctr', 'containerd-shim-runc-v2');
const maybe = missing ? describe.skip : describe;

maybe(`containerd with tsrun as the runc binary${missing ? ` (skipped: ${missing} is not installed)` : ''}`, function () {
  this.timeout(180000);
  let cd: Containerd;

  before(async () => {
    cd = new Containerd();
    await cd.start();
    const tar = join(cd.dir, 'image.tar');
    await writeOciImageTar(BUSYBOX_ROOTFS, tar, { ref: IMAGE });
    cd.ok(['images', 'import', tar], { timeoutMs: 120000 });
    assert.match(cd.ok(['images', 'ls', '-q']).stdout, /tsrun-busybox:test/);
  });

  after(async () => {
    if (!cd) return;
    await cd.stop();
    assert.ok(!existsSync(cd.dir), 'containerd temp dir left');
    assert.deepEqual(liveAfter(cd.ns), []);
  });

  it('ctr run --rm prints the output', async () => {
    const id = cd.id();
    const r = cd.ctr(cd.runArgs('--rm', IMAGE, id, 'echo', 'hi'));
    assert.equal(r.status, 0, describeResult(['ctr run --rm'], r));
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.stderr, '');
    await cd.assertClean([id]);
  });

  it('ctr run --rm passes the exit status on', async () => {
    const id = cd.id();
    const r = cd.ctr(cd.runArgs('--rm', IMAGE, id, 'sh', '-c', 'echo out; echo err >&2; exit 3'));
    assert.equal(r.status, 3, describeResult(['ctr run --rm'], r));
    assert.equal(r.stdout, 'out\n');
    assert.match(r.stderr, /^err\n/);
    await cd.assertClean([id]);
  });

  it('run -d, task exec, ps, pause/resume, kill, delete', async () => {
    const id = cd.id();
    cd.ok(cd.runArgs('-d', IMAGE, id, 'sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done'));
    const task = cd.tasks().get(id);
    assert.ok(task && task.status === 'RUNNING', `task: ${JSON.stringify(task)}`);
    const pid = task.pid;
    assert.ok(isAlive(pid));

    const ex = cd.ctr(['task', 'exec', '--exec-id', 'x', id, 'sh', '-c', 'echo in-exec; cat /proc/1/cmdline | tr "\\0" " "; exit 5']);
    assert.equal(ex.status, 5, describeResult(['ctr task exec'], ex));
    assert.match(ex.stdout, /^in-exec\nsh -c trap/);

    const ps = cd.ok(['task', 'ps', id]);
    const pids = ps.stdout.split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0])).filter((n) => n > 0);
    assert.ok(pids.includes(pid), `task ps: ${ps.stdout}`);

    cd.ok(['task', 'pause', id]);
    assert.equal(cd.tasks().get(id)?.status, 'PAUSED');
    cd.ok(['task', 'resume', id]);
    assert.equal(cd.tasks().get(id)?.status, 'RUNNING');

    cd.ok(['task', 'kill', id]); // SIGTERM: the trap exits 7
    assert.ok(await waitFor(() => cd.tasks().get(id)?.status === 'STOPPED', 10000), 'task did not stop on SIGTERM');
    assert.ok(!isAlive(pid));
    const del = cd.ok(['task', 'delete', id]);
    assert.match(del.stderr, /exit code 7/);
    cd.ok(['containers', 'rm', id]);
    await cd.assertClean([id], [pid]);
  });

  it('task kill -s KILL and task delete of a container that ignores SIGTERM', async () => {
    const id = cd.id();
    cd.ok(cd.runArgs('-d', IMAGE, id, 'sleep', '1000'));
    const pid = cd.tasks().get(id)!.pid;
    const busy = cd.ctr(['task', 'delete', id]);
    assert.notEqual(busy.status, 0, 'deleting a running task succeeded');
    cd.ok(['task', 'kill', '-s', 'KILL', id]);
    assert.ok(await waitFor(() => cd.tasks().get(id)?.status === 'STOPPED', 10000), 'task did not stop on SIGKILL');
    cd.ok(['task', 'delete', id]);
    cd.ok(['containers', 'rm', id]);
    await cd.assertClean([id], [pid]);
  });

  it('task exec with stdin and with -t, kill --all, a privileged container', async () => {
    const id = cd.id();
    cd.ok(cd.runArgs('-d', '--privileged', IMAGE, id, 'sh', '-c', 'sleep 1000 & sleep 1000 & wait'));
    const pid = cd.tasks().get(id)!.pid;
    const viaStdin = runCommand(cd.io, cd.argv(['task', 'exec', '--exec-id', 'in', id, 'cat']), { input: 'through stdin\n', cwd: cd.dir, env: cd.env() });
    assert.equal(viaStdin.status, 0, describeResult(['ctr task exec cat'], viaStdin));
    assert.equal(viaStdin.stdout, 'through stdin\n');
    const command = cd.argv(['task', 'exec', '-t', '--exec-id', 'tty', id, 'sh', '-c', 'tty; test -c /dev/kmsg && echo privileged']).map((a) => `'${a}'`).join(' ');
    const tty = runCommand(cd.io, ['script', '-qec', command, '/dev/null'], { env: cd.env() });
    assert.equal(tty.status, 0, describeResult(['script -qec', command], tty));
    // (ctr's console copy may show a stray ^@ between lines)
    assert.match(tty.stdout, /\/dev\/pts\/\d+\r?\r?\n(\^@)?privileged/);
    const children = cd.ok(['task', 'ps', id]).stdout.split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0])).filter((n) => n > 0);
    assert.ok(children.length >= 3, `task ps: ${children}`);
    cd.ok(['task', 'kill', '--all', '-s', 'KILL', id]);
    assert.ok(await waitFor(() => cd.tasks().get(id)?.status === 'STOPPED', 10000), 'task did not stop');
    assert.ok(await waitFor(() => children.every((p) => !isAlive(p)), 5000), 'kill --all left processes');
    cd.ok(['task', 'delete', id]);
    cd.ok(['containers', 'rm', id]);
    await cd.assertClean([id], [pid, ...children]);
  });

  it('ctr run -t gives the container a terminal', async () => {
    const id = cd.id();
    // ctr needs a terminal of its own for -t: script(1) gives it one
    const command = cd
      .argv(cd.runArgs('--rm', '-t', IMAGE, id, 'sh', '-c', 'tty; exit 4'))
      .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
      .join(' ');
    const r = runCommand(cd.io, ['script', '-qec', command, '/dev/null'], { timeoutMs: 60000, env: cd.env() });
    assert.equal(r.status, 4, describeResult(['script -qec', command], r));
    assert.match(r.stdout, /\/dev\/pts\/0\r?\r?\n/);
    await cd.assertClean([id]);
  });

  it('a missing program fails ctr run with the runtime error', async () => {
    const id = cd.id();
    const r = cd.ctr(cd.runArgs('--rm', IMAGE, id, '/nonexistent'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /\/nonexistent/);
    // the shim takes the last "error" entry of tsrun's --log JSON lines
    // runc's words behind the step that failed: containerd passes them on.
    assert.match(r.stderr, /OCI runtime create failed: create: step "find program": exec: "\/nonexistent": stat \/nonexistent: no such file or directory/);
    cd.ctr(['containers', 'rm', id]);
    await cd.assertClean([id]);
  });
});

/** Live processes still naming the namespace (shims, tsrun, containers' helpers). */
function liveAfter(ns: string): string[] {
  return leftovers({ mountRoots: [], processNeedles: [ns], pids: [], stateRoots: [] });
}
