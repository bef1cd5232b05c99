// --systemd-cgroup against a real systemd: systemd is booted as the init of
// a tsrun container (see helpers/systemd-container.ts) and tsrun runs inside
// it, asking that systemd for scopes as it would ask the host's.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BUSYBOX_ROOTFS, TSRUN } from '../helpers/harness';
import { Session, waitFor, cgroupDirsOf } from '../helpers/session';
import { SystemdContainer } from '../helpers/systemd-container';

const MIB = 1024 * 1024;

describe('--systemd-cgroup with systemd running (systemd as a container init)', function () {
  this.timeout(300000);
  let s: Session;
  let sd: SystemdContainer;
  let serial = 0;
  const name = (): string => `sd${process.pid}x${Date.now().toString(36)}x${serial++}`;

  before(async function () {
    this.timeout(120000);
    s = new Session();
    sd = new SystemdContainer(s, s.id('systemd'));
    await sd.boot();
  });
  after(() => {
    sd?.destroy();
    s?.cleanup();
  });

  const unitProperty = (unit: string, property: string): string => sd.exec(['systemctl', 'show', `--property=${property}`, '--value', unit]).stdout.trim();
  const inside = (command: string): string => {
    const r = sd.exec(['sh', '-c', command]);
    assert.equal(r.status, 0, `${command}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const cgroupLines = (text: string): string[] => text.split('\n').filter(Boolean);
  const dropCgroupNamespace = (spec: { linux?: { namespaces?: { type: string }[] } }): void => {
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'cgroup');
  };

  it('create puts the init in a delegated scope in the slice, limits (created and updated) written and kept over daemon-reload; delete stops the scope', async () => {
    const id = name();
    const unit = `tsrun-${id}.scope`;
    const bundle = sd.innerBundle(['sleep', '1000'], (spec) => {
      spec.linux!.cgroupsPath = `system.slice:tsrun:${id}`;
      spec.linux!.resources = { memory: { limit: 64 * MIB }, pids: { limit: 42 } };
    });
    const created = sd.tsrun(['--systemd-cgroup', 'create', '--bundle', bundle, id]);
    assert.equal(created.status, 0, created.stderr);
    const pid = JSON.parse(sd.tsrun(['state', id]).stdout).pid as number;

    assert.equal(unitProperty(unit, 'ActiveState'), 'active');
    assert.equal(unitProperty(unit, 'Slice'), 'system.slice');
    assert.equal(unitProperty(unit, 'Delegate'), 'yes');
    assert.equal(unitProperty(unit, 'ControlGroup'), `/system.slice/${unit}`);
    // Every hierarchy: systemd's (name=systemd, cgroup2) and those tsrun adds (cpuset, freezer, ...).
    const lines = cgroupLines(inside(`cat /proc/${pid}/cgroup`));
    assert.ok(lines.length >= 8, lines.join('\n'));
    for (const line of lines) assert.ok(line.endsWith(`:/system.slice/${unit}`), `/proc/${pid}/cgroup: ${line}`);

    const limits = `cat /sys/fs/cgroup/memory/system.slice/${unit}/memory.limit_in_bytes /sys/fs/cgroup/pids/system.slice/${unit}/pids.max`;
    assert.deepEqual(cgroupLines(inside(limits)), [String(64 * MIB), '42']);
    inside('systemctl daemon-reload');
    assert.deepEqual(cgroupLines(inside(limits)), [String(64 * MIB), '42'], 'systemd put its own values back after daemon-reload');
    // update reaches systemd's unit too, or the next reload would bring back the create-time limits.
    const updated = sd.tsrun(['update', '--memory', '32m', '--pids-limit', '21', id]);
    assert.equal(updated.status, 0, updated.stderr);
    inside('systemctl daemon-reload');
    assert.deepEqual(cgroupLines(inside(limits)), [String(32 * MIB), '21'], 'daemon-reload undid the update');

    assert.equal(sd.tsrun(['start', id]).status, 0);
    assert.match(sd.tsrun(['ps', id]).stdout, new RegExp(`\\b${pid}\\b`));
    assert.equal(sd.tsrun(['kill', id, 'KILL']).status, 0);
    assert.ok(await waitFor(() => JSON.parse(sd.tsrun(['state', id]).stdout).status === 'stopped', 20000, 100));
    const deleted = sd.tsrun(['delete', id]);
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.equal(unitProperty(unit, 'LoadState'), 'not-found');
    assert.equal(inside(`ls -d /sys/fs/cgroup/*/system.slice/${unit} 2>/dev/null || true`), '');
  });

  it('a nested slice with an empty prefix: <name>.scope in machine.slice/machine-tsrun.slice, which exec joins too', () => {
    const id = name();
    const unit = `${id}.scope`;
    const bundle = sd.innerBundle(['sleep', '1000'], (spec) => {
      spec.linux!.cgroupsPath = `machine-tsrun.slice::${id}`;
      dropCgroupNamespace(spec);
    });
    try {
      const r = sd.tsrun(['--systemd-cgroup', 'run', '--detach', '--bundle', bundle, id]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(unitProperty(unit, 'ControlGroup'), `/machine.slice/machine-tsrun.slice/${unit}`);
      const seen = sd.tsrun(['exec', id, 'cat', '/proc/self/cgroup']);
      assert.equal(seen.status, 0, seen.stderr);
      for (const line of cgroupLines(seen.stdout)) assert.ok(line.endsWith(`:/machine.slice/machine-tsrun.slice/${unit}`), `exec'd process: ${line}`);
    } finally {
      sd.tsrun(['delete', '--force', id]);
    }
    assert.equal(unitProperty(unit, 'LoadState'), 'not-found');
  });

  it('without a cgroupsPath: system.slice:tsrun:<id>, gone after run', () => {
    const id = name();
    const bundle = sd.innerBundle(['cat', '/proc/self/cgroup'], dropCgroupNamespace);
    const r = sd.tsrun(['--systemd-cgroup', 'run', '--bundle', bundle, id]);
    assert.equal(r.status, 0, r.stderr);
    for (const line of cgroupLines(r.stdout)) assert.ok(line.endsWith(`:/system.slice/tsrun-${id}.scope`), line);
    assert.equal(unitProperty(`tsrun-${id}.scope`, 'LoadState'), 'not-found');
    assert.equal(sd.tsrun(['list', '--quiet']).stdout.trim(), '');
  });

  it('a scope systemd refuses (its unit already exists) fails create with systemd\'s reason and leaves nothing', () => {
    const first = name();
    const second = name();
    const path = `system.slice:tsrun:${first}`;
    const bundle = sd.innerBundle(['sleep', '1000'], (spec) => {
      spec.linux!.cgroupsPath = path;
    });
    try {
      assert.equal(sd.tsrun(['--systemd-cgroup', 'create', '--bundle', bundle, first]).status, 0);
      const r = sd.tsrun(['--systemd-cgroup', 'create', '--bundle', bundle, second]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`^tsrun: --systemd-cgroup: systemd refused scope tsrun-${first}\\.scope: org\\.freedesktop\\.systemd1\\.UnitExists: .+\\n$`));
      assert.deepEqual(sd.tsrun(['list', '--quiet']).stdout.trim().split('\n'), [first]);
      assert.equal(unitProperty(`tsrun-${first}.scope`, 'ActiveState'), 'active', 'the first container lost its scope');
      // Only the first container's init is in the scope.
      const procs = inside(`cat /sys/fs/cgroup/systemd/system.slice/tsrun-${first}.scope/cgroup.procs`);
      assert.deepEqual(cgroupLines(procs), [String(JSON.parse(sd.tsrun(['state', first]).stdout).pid)]);
    } finally {
      sd.tsrun(['delete', '--force', first]);
    }
  });

  it('a cgroupsPath that is not slice:prefix:name is refused naming the field, before anything is made', () => {
    for (const [path, message] of [
      ['not-a-slice-path', /config\.json: \/linux\/cgroupsPath: "not-a-slice-path" is not of the form slice:prefix:name/],
      ['bad/name.slice:tsrun:x', /config\.json: \/linux\/cgroupsPath: "bad\/name\.slice:tsrun:x": "bad\/name\.slice" is not a slice/],
      ['system.slice:tsrun:', /config\.json: \/linux\/cgroupsPath: "system\.slice:tsrun:": the name after the second ":" is empty/],
    ] as const) {
      const id = name();
      const bundle = sd.innerBundle(['true'], (spec) => {
        spec.linux!.cgroupsPath = path;
      });
      const r = sd.tsrun(['--systemd-cgroup', 'run', '--bundle', bundle, id]);
      assert.equal(r.status, 1, path);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.equal(sd.tsrun(['list', '--quiet']).stdout.trim(), '');
    }
    assert.equal(inside('ls /sys/fs/cgroup/systemd/system.slice | grep -c "^tsrun-" || true'), '0');
  });

  it('podman --cgroup-manager systemd with tsrun: its containers are machine.slice/libpod-<id>.scope, limits applied, gone after rm', () => {
    // podman asks systemd for conmon's scope over the system bus, and copies images through /var/tmp.
    inside('systemctl start dbus.socket dbus.service && mkdir -p /var/tmp');
    const env = podmanWorld(sd.work);
    const podman = (args: string[]) => sd.exec(['podman', '--runtime', 'tsrun', ...args], { env, timeoutMs: 120000 });
    const imported = podman(['import', join(env.dir, 'rootfs.tar'), 'localhost/tsrun-busybox:systemd']);
    assert.equal(imported.status, 0, imported.stderr);
    const run = ['run', '--network=none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

    const once = podman([...run, '--rm', 'localhost/tsrun-busybox:systemd', 'sh', '-c', 'echo hello from podman; cat /proc/self/cgroup']);
    assert.equal(once.status, 0, once.stderr);
    const [hello, ...cgroups] = cgroupLines(once.stdout);
    assert.equal(hello, 'hello from podman');
    assert.ok(cgroups.length >= 8, once.stdout);
    for (const line of cgroups) assert.match(line, /:\/machine\.slice\/libpod-[0-9a-f]{64}\.scope$/);

    const started = podman([...run, '-d', '--memory', '64m', 'localhost/tsrun-busybox:systemd', 'sleep', '1000']);
    assert.equal(started.status, 0, started.stderr);
    const id = started.stdout.trim();
    const unit = `libpod-${id}.scope`;
    try {
      assert.equal(unitProperty(unit, 'ActiveState'), 'active');
      assert.equal(unitProperty(unit, 'Description'), `tsrun container ${id}`);
      const limit = podman(['exec', id, 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes']);
      assert.equal(limit.stdout.trim(), String(64 * MIB), limit.stderr);
    } finally {
      const removed = podman(['rm', '-f', id]);
      assert.equal(removed.status, 0, removed.stderr);
    }
    assert.equal(unitProperty(unit, 'LoadState'), 'not-found');
  });

  it('deleting the systemd container removes every cgroup systemd and the inner tsrun made below its own', () => {
    const inner = name();
    assert.equal(sd.tsrun(['--systemd-cgroup', 'run', '--detach', '--bundle', sd.innerBundle(['sleep', '1000']), inner]).status, 0);
    const dirs = cgroupDirsOf(sd.id);
    assert.ok(dirs.length >= 8, dirs.join(' '));
    assert.ok(
      dirs.some((d) => existsSync(`${d}/system.slice/tsrun-${inner}.scope`)),
      `no scope below ${dirs.join(' ')}`,
    );
    sd.destroy();
    assert.deepEqual(cgroupDirsOf(sd.id), []);
  });
});

/**
 * A podman configuration of its own in the shared work directory (storage in
 * the container's /var and /run, networks in the work directory: /etc is the
 * host's, read-only) with tsrun as a JSON-capable runtime, and the busybox
 * rootfs as a tar to import. Returns the environment naming it (and `dir`).
 */
function podmanWorld(work: string): string[] & { dir: string } {
  const dir = join(work, 'podman');
  mkdirSync(join(dir, 'networks'), { recursive: true });
  const tar = spawnSync('tar', ['-C', BUSYBOX_ROOTFS, '-cf', join(dir, 'rootfs.tar'), '.']);
  if (tar.status !== 0) throw new Error(`tar of the rootfs failed: ${tar.stderr}`);
  writeFileSync(
    join(dir, 'containers.conf'),
    ['[engine]', 'cgroup_manager = "systemd"', 'events_logger = "file"', 'runtime_supports_json = ["tsrun", "runc", "crun"]', '[engine.runtimes]', `tsrun = ["${TSRUN}"]`, '[network]', `network_config_dir = "${join(dir, 'networks')}"`, ''].join('\n'),
  );
  writeFileSync(join(dir, 'storage.conf'), ['[storage]', 'driver = "vfs"', 'graphroot = "/var/lib/tsrun-podman"', 'runroot = "/run/tsrun-podman"', ''].join('\n'));
  writeFileSync(join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
  const env = [`CONTAINERS_CONF=${dir}/containers.conf`, `CONTAINERS_STORAGE_CONF=${dir}/storage.conf`, `CONTAINERS_REGISTRIES_CONF=${dir}/registries.conf`, 'HOME=/root'];
  return Object.assign(env, { dir });
}
