// Rootless: tsrun run by an unprivileged user (tsrun-rootless, made with
// subordinate ids by hack/test-user.sh, which `npm test` runs first), with a
// bundle and an $XDG_RUNTIME_DIR of its own under a temp dir. On this host
// the user may not make cgroups, so containers without limits run without
// one; a cgroup a test hands to the user (under the test's own cgroup) is
// used with its limits. Every verb, the id mappings with and without
// newuidmap, and each error path with nothing left behind.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, openSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { BUSYBOX_ROOTFS, REPO, TSRUN, isAlive, tempDir } from '../helpers/harness';
import { waitFor } from '../helpers/session';
import { writeOciImageTar } from '../helpers/oci-image';
import { tarOf } from '../helpers/layer-tar';
import { cgroup2Mount, cgroupLeftovers, everyHierarchyDir, isCgroupV2, v1Mounts, removeOwnCgroups } from './cgroups-common';
import { systemdIsInit } from '../helpers/systemd-host';
import type { Spec } from '../../src/spec/types';

const USER = 'tsrun-rootless';

interface Account {
  uid: number;
  gid: number;
  subuid: number;
  subgid: number;
}

/** The test user and its first subordinate ranges, from the files newuidmap reads. */
function account(): Account {
  const ids = spawnSync('id', ['-u', USER], { encoding: 'utf8' });
  if (ids.status !== 0) throw new Error(`no user ${USER}: run hack/test-user.sh as root (npm test's pretest does)`);
  const sub = (file: string): number => {
    const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${USER}:`));
    if (!line) throw new Error(`${file} has no range for ${USER}: run hack/test-user.sh`);
    return Number(line.split(':')[1]);
  };
  const gid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout.trim());
  return { uid: Number(ids.stdout.trim()), gid, subuid: sub('/etc/subuid'), subgid: sub('/etc/subgid') };
}

let stagedTsrun: string | undefined;
let stagedDir: string | undefined;
after(() => {
  if (stagedDir) rmSync(stagedDir, { recursive: true, force: true });
});

/**
 * A tsrun the user can run: the checkout's launcher, or, where the checkout
 * is not readable by other users (a clone under /root), a copy of the built
 * tree in a world-readable temp dir (removed when the tests end).
 */
function userTsrun(who: Account): string {
  if (stagedTsrun !== undefined) return stagedTsrun;
  const runs = (bin: string): ReturnType<typeof spawnSync> => spawnSync('setpriv', ['--reuid', String(who.uid), '--regid', String(who.gid), '--clear-groups', bin, '--version'], { encoding: 'utf8' });
  if (runs(TSRUN).status === 0) return (stagedTsrun = TSRUN);
  const stage = tempDir('tsrun-rootless-bin-');
  chmodSync(stage, 0o755);
  const copy = spawnSync('cp', ['-a', join(REPO, 'dist'), join(REPO, 'node_modules'), join(REPO, 'package.json'), stage]);
  if (copy.status !== 0) throw new Error(`staging tsrun for ${USER}: ${copy.stderr}`);
  const launcher = join(stage, 'tsrun');
  writeFileSync(launcher, readFileSync(TSRUN, 'utf8').split(join(REPO, 'dist')).join(join(stage, 'dist')), { mode: 0o755 });
  const probe = runs(launcher);
  if (probe.status !== 0) throw new Error(`${USER} cannot run ${TSRUN} nor its copy ${launcher}: ${probe.stderr}`);
  stagedDir = stage;
  return (stagedTsrun = launcher);
}

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A private world for the user: a home, an XDG_RUNTIME_DIR (0700) and bundles, all theirs. */
class UserWorld {
  readonly base = tempDir('tsrun-rootless-');
  readonly xdg = join(this.base, 'xdg');
  readonly stateRoot = join(this.xdg, 'tsrun');
  readonly home = join(this.base, 'home');
  private bundles = 0;

  constructor(readonly who: Account) {
    chmodSync(this.base, 0o755);
    for (const dir of [this.xdg, this.home]) {
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, who.uid, who.gid);
    }
  }

  /** Runs a command as the user with a clean environment (as a login would give). */
  exec(argv: string[], options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number; outer?: string[] } = {}): Result {
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: this.home, XDG_RUNTIME_DIR: this.xdg, ...options.env };
    const vars = Object.entries(env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    // Output through files, not pipes: a detached container keeps its copy of
    // our stdio open, and a pipe would then never end.
    const out = join(this.base, 'out');
    const err = join(this.base, 'err');
    const fds = [openSync(out, 'w'), openSync(err, 'w')];
    try {
      const [program, ...args] = [...(options.outer ?? []), 'setpriv', '--reuid', String(this.who.uid), '--regid', String(this.who.gid), '--clear-groups', 'env', '-i', ...vars, ...argv];
      const r = spawnSync(program, args, {
        cwd: options.cwd ?? this.base,
        timeout: options.timeoutMs ?? 60000,
        stdio: ['ignore', fds[0], fds[1]],
      });
      return { status: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
  }

  tsrun(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Result {
    return this.exec([userTsrun(this.who), ...args], options);
  }

  ok(args: string[], options: { cwd?: string } = {}): Result {
    const r = this.tsrun(args, options);
    if (r.status !== 0) throw new Error(`tsrun ${args.join(' ')} as ${USER} exited ${r.status}: ${r.stderr}`);
    return r;
  }

  /**
   * A bundle owned by the user: the busybox rootfs and the config the user's
   * own `tsrun spec --rootless` writes, with `args`, no terminal, then `mutate`.
   */
  bundle(args: string[], mutate?: (spec: Spec) => void): string {
    const dir = join(this.base, `bundle-${this.bundles++}`);
    mkdirSync(dir);
    const copy = spawnSync('cp', ['-a', BUSYBOX_ROOTFS, join(dir, 'rootfs')]);
    if (copy.status !== 0) throw new Error(`copying the rootfs: ${copy.stderr}`);
    spawnSync('chown', ['-R', `${this.who.uid}:${this.who.gid}`, dir]);
    const made = this.tsrun(['spec', '--rootless'], { cwd: dir });
    if (made.status !== 0) throw new Error(`tsrun spec --rootless: ${made.stderr}`);
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
    spec.process!.terminal = false;
    spec.process!.args = args;
    mutate?.(spec);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
    return dir;
  }

  /** Container state directories (and lock files) left in the user's state root. */
  leftovers(): string[] {
    return existsSync(this.stateRoot) ? readdirSync(this.stateRoot) : [];
  }

  /** Live processes of the user (the containers' and any helper's). */
  processes(): number[] {
    const found: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (statSync(`/proc/${name}`).uid === this.who.uid && isAlive(Number(name))) found.push(Number(name));
      } catch {
        // gone
      }
    }
    return found;
  }

  /** Deletes whatever the user left, kills the rest, removes the temp tree. */
  destroy(): void {
    for (const id of this.leftovers()) if (!id.endsWith('.lock')) this.tsrun(['delete', '--force', id]);
    for (const pid of this.processes()) spawnSync('kill', ['-9', String(pid)]);
    rmSync(this.base, { recursive: true, force: true });
  }
}

/** Subordinate ranges as podman maps them: the user's own id as root, then 65536 from its subordinate range as 1... */
function podmanStyleMappings(who: Account): (spec: Spec) => void {
  return (spec) => {
    spec.linux!.uidMappings = [
      { containerID: 0, hostID: who.uid, size: 1 },
      { containerID: 1, hostID: who.subuid, size: 65536 },
    ];
    spec.linux!.gidMappings = [
      { containerID: 0, hostID: who.gid, size: 1 },
      { containerID: 1, hostID: who.subgid, size: 65536 },
    ];
  };
}

/** Nothing of container `id` left: no state directory, no process of the user, no cgroup. */
async function assertNothingLeft(world: UserWorld, id: string): Promise<void> {
  assert.deepEqual(world.leftovers().filter((n) => !n.endsWith('.lock')), [], 'no state directory');
  assert.deepEqual(world.processes(), [], 'no process');
  assert.deepEqual(await cgroupLeftovers(id), [], 'no cgroup');
}

/** One line on stderr, starting "tsrun: ". */
function oneLineError(r: Result): string {
  assert.notEqual(r.status, 0, `expected a failure, got: ${r.stdout}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  return lines[0];
}

describe('rootless: tsrun run by an unprivileged user', function () {
  this.timeout(120000);
  let who: Account;
  let world: UserWorld;

  before(function () {
    who = account();
    userTsrun(who);
  });
  beforeEach(() => {
    world = new UserWorld(who);
  });
  afterEach(() => world.destroy());

  it('tsrun bundle --rootless: an image unpacked by the user, owners shifted into its subordinate range, runs with them', async () => {
    const image = join(world.base, 'image');
    spawnSync('cp', ['-a', BUSYBOX_ROOTFS, image]);
    mkdirSync(join(image, 'data'));
    writeFileSync(join(image, 'data', 'greeting'), 'hello\n', { mode: 0o604 });
    chownSync(join(image, 'data', 'greeting'), 1234, 1235);
    const archive = join(world.base, 'image.tar');
    await writeOciImageTar(image, archive, { ref: 'localhost/rootless-test:v1', cmd: ['sh', '-c', 'id -u; stat -c "%u %g %a" /data/greeting; cat /data/greeting'] });
    chmodSync(archive, 0o644);
    const dir = join(world.home, 'from-image');
    const made = world.tsrun(['bundle', '--rootless', '--from', archive, dir]);
    assert.equal(made.status, 0, made.stderr);
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
    const wanted: Spec = { ociVersion: '1.3.0', linux: {} };
    podmanStyleMappings(who)(wanted);
    assert.deepEqual([spec.linux?.uidMappings, spec.linux?.gidMappings], [wanted.linux?.uidMappings, wanted.linux?.gidMappings], 'the user as root, the subordinate range as 1..65536');
    const owner = statSync(join(dir, 'rootfs', 'data', 'greeting'));
    assert.deepEqual([owner.uid, owner.gid], [who.subuid + 1233, who.subgid + 1234]);
    assert.equal(statSync(join(dir, 'rootfs', 'bin')).uid, who.uid, "the image's root is the user");
    const r = world.ok(['run', 'img'], { cwd: dir });
    assert.deepEqual(r.stdout.split('\n'), ['0', '1234 1235 604', 'hello', '']);
    await assertNothingLeft(world, 'img');

    // A device node the user may not make is left out, with a note naming it; the rest is written.
    const devices = join(world.base, 'devices.tar');
    const tarball = await tarOf([
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'etc/hostname', data: 'box\n' },
    ]);
    writeFileSync(devices, tarball, { mode: 0o644 });
    const noDev = join(world.home, 'no-dev');
    const made2 = world.tsrun(['bundle', '--rootless', '--from', devices, noDev]);
    assert.equal(made2.status, 0, made2.stderr);
    assert.match(made2.stderr, /^tsrun bundle: 1 device node\(s\) not made \(this user may not make device nodes\): dev\/null\n$/);
    assert.equal(existsSync(join(noDev, 'rootfs', 'dev', 'null')), false);
    assert.equal(readFileSync(join(noDev, 'rootfs', 'etc', 'hostname'), 'utf8'), 'box\n');
  });

  it('tsrun bundle --rootless ended by SIGTERM while it unpacks in its user namespace: nothing is left', async () => {
    const dir = join(world.home, 'interrupted');
    const vars = [`PATH=/usr/local/bin:/usr/bin:/bin`, `HOME=${world.home}`, `XDG_RUNTIME_DIR=${world.xdg}`];
    const errPath = join(world.base, 'bundle.err');
    const err = openSync(errPath, 'w');
    const child = spawn('setpriv', ['--reuid', String(who.uid), '--regid', String(who.gid), '--clear-groups', 'env', '-i', ...vars, userTsrun(who), 'bundle', '--rootless', '--from', '-', dir], { cwd: world.base, stdio: ['pipe', 'ignore', err] });
    closeSync(err);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // A child that ends early closes the pipe: its stderr says why, not an EPIPE here.
    const stdin = child.stdin as NonNullable<typeof child.stdin>;
    stdin.on('error', () => undefined);
    const tarball = spawnSync('tar', ['-C', BUSYBOX_ROOTFS, '-c', '.'], { maxBuffer: 1 << 30 }).stdout;
    stdin.write(tarball.subarray(0, Math.floor(tarball.length / 2)));
    // The copy inside the namespace made its staging directory: the outer one must pass the signal on.
    const started = await waitFor(() => existsSync(dir) && readdirSync(dir).some((n) => n.startsWith('.tsrun-bundle-')), 30000);
    assert.ok(started, `the staging directory never appeared: ${readFileSync(errPath, 'utf8')}`);
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    stdin.destroy();
    assert.ok(await waitFor(() => !existsSync(dir), 10000), `left: ${existsSync(dir) ? readdirSync(dir).join(' ') : ''}`);
    assert.deepEqual(world.processes(), [], 'no process of the user left');
  });

  it("runs `tsrun spec --rootless` unchanged: the user's own ids, setgroups denied, state under $XDG_RUNTIME_DIR/tsrun", () => {
    const bundle = world.bundle(['sh', '-c', 'id -u; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; cat /sys/kernel/mm/transparent_hugepage/enabled >/dev/null && echo sys-ok; ls /dev/mqueue >/dev/null && echo mqueue-ok']);
    const r = world.ok(['run', 'fg'], { cwd: bundle });
    const words = r.stdout.split(/\s+/).filter(Boolean);
    assert.deepEqual(words, ['0', '0', String(who.uid), '1', '0', String(who.gid), '1', 'deny', 'sys-ok', 'mqueue-ok']);
    const root = statSync(world.stateRoot);
    assert.equal(root.mode & 0o7777, 0o1700, 'the state root is 0700 with the sticky bit');
    assert.equal(root.uid, who.uid);
    assert.deepEqual(world.leftovers().filter((n) => !n.endsWith('.lock')), []);
    assert.deepEqual(world.processes(), []);
  });

  it('maps several ranges through newuidmap/newgidmap: a file made by uid 1000 inside belongs to the subordinate id outside', () => {
    const bundle = world.bundle(['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; touch /made; chown 1000:1000 /made'], (spec) => {
      podmanStyleMappings(who)(spec);
      spec.root!.readonly = false;
      const caps = spec.process!.capabilities!;
      for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), 'CAP_CHOWN'];
    });
    const r = world.ok(['run', 'multi'], { cwd: bundle });
    const maps = r.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' ')).filter(Boolean);
    assert.deepEqual(maps, [`0 ${who.uid} 1`, `1 ${who.subuid} 65536`, `0 ${who.gid} 1`, `1 ${who.subgid} 65536`]);
    const made = statSync(join(bundle, 'rootfs', 'made'));
    assert.equal(made.uid, who.subuid + 999);
    assert.equal(made.gid, who.subgid + 999);
  });

  it("refuses a mapping outside the user's subordinate range with newuidmap's own words, leaving nothing", async () => {
    const bundle = world.bundle(['true'], (spec) => {
      podmanStyleMappings(who)(spec);
      spec.linux!.uidMappings![1].hostID = who.subuid + 10_000_000;
    });
    const line = oneLineError(world.tsrun(['run', 'refused'], { cwd: bundle }));
    assert.match(line, /^tsrun: config\.json: \/linux\/uidMappings: newuidmap refused the mapping \(exit status 1\): newuidmap: uid range \[1-65537\) -> \[\d+-\d+\) not allowed$/);
    await assertNothingLeft(world, 'refused');
  });

  it('refuses a config without a user namespace, naming the field', async () => {
    const bundle = world.bundle(['true'], (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'user');
      delete spec.linux!.uidMappings;
      delete spec.linux!.gidMappings;
    });
    const line = oneLineError(world.tsrun(['run', 'nouserns'], { cwd: bundle }));
    assert.equal(line, 'tsrun: config.json: /linux/namespaces: a rootless container needs a user namespace (tsrun spec --rootless writes one)');
    await assertNothingLeft(world, 'nouserns');
  });

  it('create, list, start, state, exec, ps, kill --all and delete work on a container with no cgroup; pause, update and stats say why not', async () => {
    const bundle = world.bundle(['sleep', '1000'], podmanStyleMappings(who));
    world.ok(['create', 'life'], { cwd: bundle });
    const listed = world.ok(['list']).stdout.split('\n')[1].split(/\s+/);
    assert.deepEqual([listed[0], listed[2], listed.at(-1)], ['life', 'created', USER]);
    world.ok(['start', 'life']);
    const state = JSON.parse(world.ok(['state', 'life']).stdout) as { status: string; pid: number };
    assert.equal(state.status, 'running');
    assert.equal(statSync(`/proc/${state.pid}`).uid, who.uid, 'the container runs as the user on the host, never as root');
    assert.equal(world.ok(['exec', 'life', 'id', '-u']).stdout.trim(), '0');
    world.ok(['exec', '--detach', 'life', 'sleep', '999']);
    assert.ok(await waitFor(() => JSON.parse(world.ok(['ps', '--format', 'json', 'life']).stdout).length === 2, 20000), 'ps lists the init and the exec');
    for (const verb of [['pause', 'life'], ['update', '--memory', '100000000', 'life'], ['events', '--stats', 'life']]) {
      assert.match(oneLineError(world.tsrun(verb)), /^tsrun: container life has no cgroup: it was created rootless where its user may not make one/);
    }
    world.ok(['kill', '--all', 'life', 'KILL']);
    assert.ok(await waitFor(() => world.processes().length === 0, 20000), 'kill --all reached every process');
    world.ok(['delete', 'life']);
    assert.deepEqual(world.leftovers().filter((n) => !n.endsWith('.lock')), []);
  });

  it('runs detached and with a terminal', async () => {
    const bundle = world.bundle(['sh', '-c', 'tty; id -u'], (spec) => {
      spec.process!.terminal = true;
    });
    const r = world.exec(['script', '-qec', `${userTsrun(who)} run term`, '/dev/null'], { cwd: bundle });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    // script(1) passes on the end of its own stdin (here at once) as a byte on
    // the terminal, which the container's tty echoes as ^@ or ^D wherever it
    // lands in the output: a matter of timing, not of the container.
    assert.match(r.stdout, /\/dev\/pts\/0\r?\n(?:\^.)*0\r?\n/);
    const detached = world.bundle(['sleep', '1000']);
    world.ok(['run', '--detach', 'det'], { cwd: detached });
    assert.equal((JSON.parse(world.ok(['state', 'det']).stdout) as { status: string }).status, 'running');
    world.ok(['delete', '--force', 'det']);
    assert.ok(await waitFor(() => world.processes().length === 0, 20000));
  });

  it('refuses a limit when no cgroup could be made, naming the field, leaving nothing', async () => {
    const bundle = world.bundle(['true'], (spec) => {
      spec.linux!.resources = { pids: { limit: 50 } };
    });
    const line = oneLineError(world.tsrun(['run', 'limited'], { cwd: bundle }));
    assert.match(line, /^tsrun: config\.json: \/linux\/resources\/pids\/limit: cannot be applied: this rootless container has no cgroup of its own \(mkdir \/sys\/fs\/cgroup\/\S+: EACCES\)/);
    await assertNothingLeft(world, 'limited');
  });

  it('never forgives a cgroupsPath the user named and may not write', async () => {
    const bundle = world.bundle(['true'], (spec) => {
      spec.linux!.cgroupsPath = `/tsrun-rootless-denied-${process.pid}`;
    });
    const line = oneLineError(world.tsrun(['run', 'named'], { cwd: bundle }));
    assert.match(line, /^tsrun: cgroup: mkdir \/sys\/fs\/cgroup\/\S*tsrun-rootless-denied-\d+: EACCES \(a rootless container may name only a cgroupsPath its user can write\)$/);
    await assertNothingLeft(world, 'named');
  });

  it('uses a cgroup delegated to the user: limits apply (read back inside), pause, resume, update and ps work, device rules are left to the user namespace', async () => {
    const delegation = delegateCgroup(who, world);
    try {
      const bundle = world.bundle(['sleep', '1000'], (spec) => {
        spec.linux!.resources = { memory: { limit: 64 * MIB }, pids: { limit: 40 }, devices: [{ allow: false, access: 'rwm' }] };
      });
      const inDelegation = (args: string[]): Result => world.exec([...delegation.inner, userTsrun(who), '--root', world.stateRoot, ...args], { cwd: bundle, env: delegation.env, outer: delegation.outer });
      const ok = (args: string[]): string => {
        const r = inDelegation(args);
        assert.equal(r.status, 0, `tsrun ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      ok(['run', '--detach', 'deleg']);
      const pid = (JSON.parse(ok(['state', 'deleg'])) as { pid: number }).pid;
      const dir = memoryCgroupOf(pid);
      assert.ok(dir.startsWith(delegation.memoryDir + '/'), `the container's cgroup ${dir} is in the delegated ${delegation.memoryDir}`);
      const limitFiles = isCgroupV2() ? ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/pids.max'] : ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/pids/pids.max'];
      assert.deepEqual(ok(['exec', 'deleg', 'cat', ...limitFiles]).split('\n').filter(Boolean), [String(64 * MIB), '40'], 'the limits, read inside');
      if (!isCgroupV2()) assert.equal(readFileSync(posix.join(cgroupDirOf(pid, 'devices'), 'devices.list'), 'utf8').trim(), 'a *:* rwm', 'device rules are not written (only root may)');
      ok(['pause', 'deleg']);
      assert.equal((JSON.parse(ok(['state', 'deleg'])) as { status: string }).status, 'paused');
      ok(['resume', 'deleg']);
      ok(['update', '--memory', String(32 * MIB), 'deleg']);
      assert.equal(readFileSync(posix.join(dir, isCgroupV2() ? 'memory.max' : 'memory.limit_in_bytes'), 'utf8').trim(), String(32 * MIB));
      assert.deepEqual(JSON.parse(ok(['ps', '--format', 'json', 'deleg'])), [pid]);
      const stats = JSON.parse(ok(['events', '--stats', 'deleg'])) as { type: string; data: { memory: { usage: { usage: number } }; pids: { current: number } } };
      assert.equal(stats.type, 'stats');
      assert.ok(stats.data.memory.usage.usage > 0, 'events --stats reads the delegated cgroup');
      assert.equal(stats.data.pids.current, 1);
      ok(['delete', '--force', 'deleg']);
      assert.ok(!existsSync(dir), `its cgroup ${dir} was removed`);
    } finally {
      world.destroy();
      delegation.release();
    }
  });

  it("--systemd-cgroup: the scope comes from the user's own systemd (user@UID.service), limits read back inside; without systemd, one clear error", async () => {
    const bundle = world.bundle(['sleep', '1000'], (spec) => {
      spec.linux!.resources = { memory: { limit: 48 * MIB }, pids: { limit: 30 } };
    });
    if (!systemdIsInit()) {
      const line = oneLineError(world.tsrun(['--systemd-cgroup', 'run', '--detach', 'sd'], { cwd: bundle }));
      assert.equal(line, 'tsrun: --systemd-cgroup: systemd is not running on this host (no /run/systemd/system): use the cgroupfs driver (drop --systemd-cgroup)');
      assert.deepEqual(world.leftovers().filter((n) => !n.endsWith('.lock')), []);
      return;
    }
    const delegation = delegateCgroup(who, world);
    try {
      const run = (args: string[]): string => {
        const r = world.exec([...delegation.inner, userTsrun(who), '--root', world.stateRoot, '--systemd-cgroup', ...args], { cwd: bundle, env: delegation.env });
        assert.equal(r.status, 0, `tsrun ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      run(['run', '--detach', 'sd']);
      const pid = (JSON.parse(run(['state', 'sd'])) as { pid: number }).pid;
      const dir = memoryCgroupOf(pid);
      assert.equal(dir, posix.join(delegation.memoryDir, 'user.slice', 'tsrun-sd.scope'));
      assert.deepEqual(run(['exec', 'sd', 'cat', '/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/pids.max']).split('\n').filter(Boolean), [String(48 * MIB), '30']);
      run(['update', '--pids-limit', '20', 'sd']);
      assert.equal(readFileSync(posix.join(dir, 'pids.max'), 'utf8').trim(), '20');
      run(['delete', '--force', 'sd']);
      assert.ok(await waitFor(() => !existsSync(dir), 20000), `the scope's cgroup ${dir} went with the scope`);
    } finally {
      world.destroy();
      delegation.release();
    }
  });

  it('fails at once, in one line, when $XDG_RUNTIME_DIR is unusable or missing, and on a bad --rootless', () => {
    assert.equal(oneLineError(world.tsrun(['list'], { env: { XDG_RUNTIME_DIR: '/' } })), 'tsrun: $XDG_RUNTIME_DIR must be a directory this user can write: mkdir /tsrun: EACCES');
    // Without it the state root is /run/tsrun: a permanent EACCES, reported at once rather than retried.
    const bundle = world.bundle(['true']);
    const noXdg = world.tsrun(['run', 'noxdg'], { cwd: bundle, env: { XDG_RUNTIME_DIR: undefined } });
    assert.match(oneLineError(noXdg), /^tsrun: (open\(\/run\/tsrun\/noxdg\.lock\)|state root \/run\/tsrun: mkdir \/run\/tsrun): EACCES \(not running as root: set XDG_RUNTIME_DIR, or give --root a directory this user can write\)$/);
    assert.equal(oneLineError(world.tsrun(['--rootless', 'maybe', 'list'])), 'tsrun: --rootless: invalid value "maybe": want true, false or auto');
    assert.equal(world.tsrun(['--rootless=false', 'list']).status, 0);
  });

  it('--rootless=false makes cgroup permission errors fatal again', async () => {
    const bundle = world.bundle(['true']);
    const line = oneLineError(world.tsrun(['--rootless=false', 'run', 'strict'], { cwd: bundle }));
    assert.match(line, /^tsrun: cgroup: mkdir \/sys\/fs\/cgroup\/\S+: EACCES/);
    await assertNothingLeft(world, 'strict');
  });
});

const MIB = 1024 * 1024;

/** The directory of `pid`'s cgroup in the hierarchy of `controller` ('' for cgroup2). */
function cgroupDirOf(pid: number, controller: string): string {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, controllers, path] = line.split(/:(.*?):/);
    if (controllers === undefined || !controllers.split(',').includes(controller)) continue;
    const mount = controller === '' ? cgroup2Mount() : v1Mounts().get(controller);
    if (mount) return posix.join(mount, path);
  }
  throw new Error(`process ${pid} is in no ${controller || 'cgroup2'} cgroup`);
}

function memoryCgroupOf(pid: number): string {
  return cgroupDirOf(pid, isCgroupV2() ? '' : 'memory');
}

interface Delegation {
  /** argv run as root around the user's command (to place it in the delegated cgroup). */
  outer: string[];
  /** argv run as the user before tsrun. */
  inner: string[];
  env: Record<string, string>;
  /** The delegated cgroup (its memory hierarchy on v1): the container's must be below it. */
  memoryDir: string;
  release(): void;
}

/**
 * A cgroup handed to the user, as each kind of host does it: systemd's
 * user@UID.service (Delegate=yes) where systemd is the init, tsrun then run
 * in a `systemd-run --user --scope` as a user would; elsewhere a subtree
 * under this test's own cgroup chowned to the user (every v1 hierarchy, or
 * the v2 directory with the files delegation needs), tsrun placed in it by
 * root first. Either way the container goes to tsrun's default path there.
 */
function delegateCgroup(who: Account, world: UserWorld): Delegation {
  if (systemdIsInit()) {
    const started = spawnSync('systemctl', ['start', `user@${who.uid}.service`], { encoding: 'utf8' });
    if (started.status !== 0) throw new Error(`systemctl start user@${who.uid}.service: ${started.stderr}`);
    const runtimeDir = `/run/user/${who.uid}`;
    const service = posix.join(cgroup2Mount() as string, `user.slice/user-${who.uid}.slice/user@${who.uid}.service`);
    return {
      outer: [],
      inner: ['systemd-run', '--user', '--scope', '--quiet', '--'],
      env: { XDG_RUNTIME_DIR: runtimeDir, DBUS_SESSION_BUS_ADDRESS: `unix:path=${runtimeDir}/bus` },
      memoryDir: service,
      release: () => spawnSync('systemctl', ['stop', `user@${who.uid}.service`]),
    };
  }
  const sub = `tsrun-rootless-${process.pid}-${Date.now().toString(36)}`;
  const dirs = everyHierarchyDir(sub);
  for (const [controller, dir] of dirs) handToUser(controller, dir, who);
  const procs = [...new Set([...dirs.values()].map((d) => posix.join(d, 'runtime', 'cgroup.procs')))];
  return {
    outer: ['sh', '-c', `for f in ${procs.join(' ')}; do echo $$ > "$f" || exit 1; done; exec "$@"`, 'sh'],
    inner: [],
    env: {},
    memoryDir: dirs.get(isCgroupV2() ? '' : 'memory') as string,
    release: () => removeOwnCgroups(`${sub}/runtime`),
  };
}

/**
 * Makes the delegated directory and its `runtime` leaf (where tsrun runs),
 * both the user's: the directories and the files delegation needs
 * (cgroup.procs, v2's subtree_control and threads, v1's limit files);
 * cpuset's cpus and mems copied down, which a new v1 cpuset lacks.
 */
function handToUser(controller: string, dir: string, who: Account): void {
  if (controller === '' && isCgroupV2()) {
    // Our own cgroup must offer the controllers the user is to delegate further.
    try {
      writeFileSync(posix.join(posix.dirname(dir), 'cgroup.subtree_control'), '+memory +pids');
    } catch {
      // already enabled, or refused: the limits test then says which is missing
    }
  }
  for (const at of [dir, posix.join(dir, 'runtime')]) {
    mkdirSync(at, { recursive: true });
    if (controller === 'cpuset') {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        writeFileSync(posix.join(at, file), readFileSync(posix.join(posix.dirname(at), file), 'utf8').trim() || '0');
      }
    }
    chownSync(at, who.uid, who.gid);
    for (const file of readdirSync(at)) {
      if (['cgroup.procs', 'tasks', 'cgroup.subtree_control', 'cgroup.threads'].includes(file) || /^(memory|pids|cpu|cpuset|freezer|blkio|cpuacct)\./.test(file)) {
        chownSync(posix.join(at, file), who.uid, who.gid);
      }
    }
  }
}

describe('rootless podman with tsrun as its runtime', function () {
  this.timeout(300000);
  let world: UserWorld;
  let podman: (args: string[]) => Result;
  let podmanEnv: Record<string, string>;

  before(function () {
    world = new UserWorld(account());
    // podman's own rootless world for the user: storage in vfs, file events, no network.
    const env = { XDG_CONFIG_HOME: join(world.base, 'config'), XDG_DATA_HOME: join(world.base, 'data') };
    podmanEnv = env;
    for (const dir of Object.values(env)) {
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, world.who.uid, world.who.gid);
    }
    podman = (args) => world.exec(['podman', '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', userTsrun(world.who), ...args], { env, timeoutMs: 120000 });
    const tar = join(world.base, 'busybox.tar');
    const made = spawnSync('tar', ['-C', BUSYBOX_ROOTFS, '-cf', tar, '.']);
    if (made.status !== 0) throw new Error(`tar: ${made.stderr}`);
    chownSync(tar, world.who.uid, world.who.gid);
    const imported = podman(['import', tar, 'tsrun-busybox']);
    if (imported.status !== 0) throw new Error(`podman import: ${imported.stderr}`);
  });
  after(() => {
    podman?.(['rm', '--all', '--force', '--time', '0']);
    world?.destroy();
  });

  const RUN = ['--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];

  it('runs --rm: podman maps the user and its subordinate range; tsrun keeps its state in the user runtime dir', () => {
    const r = podman(['run', '--rm', ...RUN, 'tsrun-busybox', 'sh', '-c', 'echo hi; cat /proc/self/uid_map']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' ')).filter(Boolean);
    assert.deepEqual(lines, ['hi', `0 ${world.who.uid} 1`, `1 ${world.who.subuid} 65536`]);
    assert.ok(existsSync(world.stateRoot), `tsrun's state root is ${world.stateRoot}`);
  });

  it("with --cgroup-manager systemd (where systemd is the init): the container's scope comes from the user's systemd", async function () {
    if (!systemdIsInit()) this.skip(); // podman falls back to cgroupfs without a user systemd; the VM suite's systemd guest runs this
    const delegation = delegateCgroup(world.who, world);
    try {
      const env = { ...podmanEnv, ...delegation.env };
      const podmanSystemd = (args: string[]): Result => world.exec(['podman', '--storage-driver', 'vfs', '--cgroup-manager', 'systemd', '--events-backend', 'file', '--runtime', userTsrun(world.who), ...args], { env, timeoutMs: 120000 });
      const started = podmanSystemd(['run', '-d', '--name', 'rl-sd', '--pids-limit', '30', ...RUN, 'tsrun-busybox', 'sleep', '1000']);
      assert.equal(started.status, 0, started.stderr);
      const id = started.stdout.trim();
      const pid = Number(podmanSystemd(['inspect', '--format', '{{.State.Pid}}', 'rl-sd']).stdout.trim());
      // podman asks for user.slice:libpod:<id>: the user's systemd makes the scope below user@UID.service.
      const dir = memoryCgroupOf(pid);
      assert.equal(dir, posix.join(delegation.memoryDir, 'user.slice', `libpod-${id}.scope`));
      assert.equal(readFileSync(posix.join(dir, 'pids.max'), 'utf8').trim(), '30');
      const removed = podmanSystemd(['rm', '--force', '--time', '0', 'rl-sd']);
      assert.equal(removed.status, 0, removed.stderr);
      assert.ok(await waitFor(() => !existsSync(dir), 20000), `the scope's cgroup ${dir} is gone`);
    } finally {
      delegation.release();
    }
  });

  it('runs detached, execs into it, and removes it with nothing left', async () => {
    const started = podman(['run', '-d', '--name', 'rl-d1', ...RUN, 'tsrun-busybox', 'sleep', '1000']);
    assert.equal(started.status, 0, started.stderr);
    const exec = podman(['exec', 'rl-d1', 'id', '-u']);
    assert.equal(exec.status, 0, exec.stderr);
    assert.equal(exec.stdout.trim(), '0');
    const removed = podman(['rm', '--force', '--time', '0', 'rl-d1']);
    assert.equal(removed.status, 0, removed.stderr);
    const sleeping = (): boolean => world.processes().some((pid) => cmdlineOf(pid).startsWith('sleep'));
    assert.ok(await waitFor(() => !sleeping(), 20000), 'the container is gone');
    const left = existsSync(world.stateRoot) ? readdirSync(world.stateRoot).filter((n) => !n.endsWith('.lock')) : [];
    assert.deepEqual(left, [], 'no tsrun state left');
  });
});

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
}
