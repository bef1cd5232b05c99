// --systemd-cgroup against a real systemd: this machine's own when systemd
// is its init (the systemd VM), else systemd booted as the init of a tsrun
// container (helpers/systemd-container.ts), with tsrun run inside it. Either
// way tsrun asks that systemd for scopes as it would ask a host's, and the
// tests read the scope's files in whichever cgroup layout the kernel has:
// v1 controller hierarchies (plus name=systemd) or the one cgroup2 tree.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BUSYBOX_ROOTFS, TSRUN } from '../helpers/harness';
import { Session, waitFor, cgroupDirsOf } from '../helpers/session';
import { SystemdContainer, systemdHostUnderTest } from '../helpers/systemd-container';
import { daemonReload, makeInnerBundle, shell, systemdIsInit, unitProperty, type SystemdHost } from '../helpers/systemd-host';
import type { Spec } from '../../src/spec/types';
import { isCgroupV2 } from './cgroups-common';

const MIB = 1024 * 1024;
const CPU_PERIOD = 100000;
const unified = isCgroupV2();

/** The files of a scope's memory, pids and cpu limits (systemd's hierarchy paths, e.g. /system.slice/x.scope). */
function limitFiles(path: string): string {
  const files = unified
    ? [`/sys/fs/cgroup${path}/memory.max`, `/sys/fs/cgroup${path}/pids.max`, `/sys/fs/cgroup${path}/cpu.max`]
    : [`/sys/fs/cgroup/memory${path}/memory.limit_in_bytes`, `/sys/fs/cgroup/pids${path}/pids.max`, `/sys/fs/cgroup/cpu${path}/cpu.cfs_quota_us`];
  return files.join(' ');
}

/** A limit lifted (OCI's -1). */
const UNLIMITED = -1;
/** v1's memory.limit_in_bytes without a limit: the largest page counter, in bytes (4 KiB pages). */
const V1_NO_MEMORY_LIMIT = '9223372036854771712';

/** What limitFiles() hold for these limits (cpu: a quota per `period`). */
function limitValues(memory: number, pids: number, quota: number, period = CPU_PERIOD): string[] {
  const memoryValue = memory !== UNLIMITED ? String(memory) : unified ? 'max' : V1_NO_MEMORY_LIMIT;
  return [memoryValue, pids !== UNLIMITED ? String(pids) : 'max', unified ? `${quota} ${period}` : String(quota)];
}

/** The directory of the hierarchy systemd tracks processes in: cgroup2, or name=systemd on v1. */
function trackingDir(path: string): string {
  return unified ? `/sys/fs/cgroup${path}` : `/sys/fs/cgroup/systemd${path}`;
}

const cgroupLines = (text: string): string[] => text.split('\n').filter(Boolean);

/** Every line of a /proc/<pid>/cgroup names `path`: the one cgroup2 line, or each v1 hierarchy's. */
function assertAllIn(procCgroup: string, path: string): void {
  const lines = cgroupLines(procCgroup);
  // v1: systemd's (name=systemd, cgroup2) and those tsrun adds (cpuset, freezer, ...).
  if (unified) assert.equal(lines.length, 1, procCgroup);
  else assert.ok(lines.length >= 8, procCgroup);
  for (const line of lines) assert.ok(line.endsWith(`:${path}`), `${line} is not in ${path}`);
}

const onSystemdMachine = systemdIsInit();

describe(`--systemd-cgroup with systemd running (${onSystemdMachine ? "this machine's init" : 'systemd as a container init'})`, function () {
  this.timeout(300000);
  let s: Session;
  let sd: SystemdHost;
  let serial = 0;
  const name = (): string => `sd${process.pid}x${Date.now().toString(36)}x${serial++}`;
  const inside = (command: string): string => shell(sd, command);
  const property = (unit: string, p: string): string => unitProperty(sd, unit, p);
  const bundleOf = (args: string[], mutate?: (spec: Spec) => void): string => makeInnerBundle(sd.work, args, mutate);
  const dropCgroupNamespace = (spec: Spec): void => {
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'cgroup');
  };

  before(async function () {
    this.timeout(120000);
    s = new Session();
    sd = systemdHostUnderTest(s);
    await sd.boot();
  });
  after(() => {
    sd?.destroy();
    s?.cleanup();
  });

  it('create puts the init in a delegated scope in the slice, limits (created, updated, lifted) written and kept over daemon-reload; delete stops the scope', async () => {
    const id = name();
    const unit = `tsrun-${id}.scope`;
    const path = `/system.slice/${unit}`;
    const bundle = bundleOf(['sleep', '1000'], (spec) => {
      spec.linux!.cgroupsPath = `system.slice:tsrun:${id}`;
      spec.linux!.resources = { memory: { limit: 64 * MIB }, pids: { limit: 42 }, cpu: { quota: 50000, period: CPU_PERIOD } };
    });
    try {
      const created = sd.tsrun(['--systemd-cgroup', 'create', '--bundle', bundle, id]);
      assert.equal(created.status, 0, created.stderr);
      const pid = JSON.parse(sd.tsrun(['state', id]).stdout).pid as number;

      assert.equal(property(unit, 'ActiveState'), 'active');
      assert.equal(property(unit, 'Slice'), 'system.slice');
      assert.equal(property(unit, 'Delegate'), 'yes');
      assert.equal(property(unit, 'ControlGroup'), path);
      assertAllIn(inside(`cat /proc/${pid}/cgroup`), path);

      const limits = limitFiles(path);
      assert.deepEqual(cgroupLines(inside(`cat ${limits}`)), limitValues(64 * MIB, 42, 50000));
      daemonReload(sd);
      assert.deepEqual(cgroupLines(inside(`cat ${limits}`)), limitValues(64 * MIB, 42, 50000), 'systemd put its own values back after daemon-reload');
      // update reaches systemd's unit too, or the next reload would bring back the create-time limits.
      const updated = sd.tsrun(['update', '--memory', '32m', '--pids-limit', '21', '--cpu-quota', '20000', id]);
      assert.equal(updated.status, 0, updated.stderr);
      assert.deepEqual(cgroupLines(inside(`cat ${limits}`)), limitValues(32 * MIB, 21, 20000));
      daemonReload(sd);
      assert.deepEqual(cgroupLines(inside(`cat ${limits}`)), limitValues(32 * MIB, 21, 20000), 'daemon-reload undid the update');
      // -1 lifts a limit: in the unit too (infinity), or a reload brings the old one back.
      const lifted = sd.tsrun(['update', '--memory', '-1', '--pids-limit', '-1', id]);
      assert.equal(lifted.status, 0, lifted.stderr);
      assert.deepEqual(cgroupLines(inside(`cat ${limits}`)), limitValues(UNLIMITED, UNLIMITED, 20000));
      daemonReload(sd);
      assert.deepEqual(cgroupLines(inside(`cat ${limits}`)), limitValues(UNLIMITED, UNLIMITED, 20000), 'daemon-reload put a lifted limit back');

      assert.equal(sd.tsrun(['start', id]).status, 0);
      assert.match(sd.tsrun(['ps', id]).stdout, new RegExp(`\\b${pid}\\b`));
      assert.equal(sd.tsrun(['kill', id, 'KILL']).status, 0);
      assert.ok(await waitFor(() => JSON.parse(sd.tsrun(['state', id]).stdout).status === 'stopped', 20000, 100));
      const deleted = sd.tsrun(['delete', id]);
      assert.equal(deleted.status, 0, deleted.stderr);
    } finally {
      sd.tsrun(['delete', '--force', id]);
    }
    assert.equal(property(unit, 'LoadState'), 'not-found');
    assert.equal(inside(`ls -d /sys/fs/cgroup${path} /sys/fs/cgroup/*${path} 2>/dev/null || true`), '');
  });

  it('update --cpu-quota alone keeps the container\'s own cpu period, in the files and in the unit (daemon-reload keeps both)', () => {
    const id = name();
    const path = `/system.slice/tsrun-${id}.scope`;
    const period = CPU_PERIOD / 2;
    const bundle = bundleOf(['sleep', '1000'], (spec) => {
      spec.linux!.cgroupsPath = `system.slice:tsrun:${id}`;
      spec.linux!.resources = { memory: { limit: 64 * MIB }, pids: { limit: 42 }, cpu: { quota: 25000, period } };
    });
    try {
      const created = sd.tsrun(['--systemd-cgroup', 'create', '--bundle', bundle, id]);
      assert.equal(created.status, 0, created.stderr);
      const updated = sd.tsrun(['update', '--cpu-quota', '20000', id]);
      assert.equal(updated.status, 0, updated.stderr);
      assert.deepEqual(cgroupLines(inside(`cat ${limitFiles(path)}`)), limitValues(64 * MIB, 42, 20000, period));
      daemonReload(sd);
      assert.deepEqual(cgroupLines(inside(`cat ${limitFiles(path)}`)), limitValues(64 * MIB, 42, 20000, period), 'daemon-reload changed the quota');
    } finally {
      sd.tsrun(['delete', '--force', id]);
    }
  });

  it('a nested slice with an empty prefix: <name>.scope in machine.slice/machine-tsrun.slice, which exec joins too', () => {
    const id = name();
    const unit = `${id}.scope`;
    const path = `/machine.slice/machine-tsrun.slice/${unit}`;
    const bundle = bundleOf(['sleep', '1000'], (spec) => {
      spec.linux!.cgroupsPath = `machine-tsrun.slice::${id}`;
      dropCgroupNamespace(spec);
    });
    try {
      const r = sd.tsrun(['--systemd-cgroup', 'run', '--detach', '--bundle', bundle, id]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(property(unit, 'ControlGroup'), path);
      const seen = sd.tsrun(['exec', id, 'cat', '/proc/self/cgroup']);
      assert.equal(seen.status, 0, seen.stderr);
      assertAllIn(seen.stdout, path);
    } finally {
      sd.tsrun(['delete', '--force', id]);
    }
    assert.equal(property(unit, 'LoadState'), 'not-found');
  });

  it('without a cgroupsPath: system.slice:tsrun:<id>, gone after run', () => {
    const id = name();
    const bundle = bundleOf(['cat', '/proc/self/cgroup'], dropCgroupNamespace);
    const r = sd.tsrun(['--systemd-cgroup', 'run', '--bundle', bundle, id]);
    assert.equal(r.status, 0, r.stderr);
    assertAllIn(r.stdout, `/system.slice/tsrun-${id}.scope`);
    assert.equal(property(`tsrun-${id}.scope`, 'LoadState'), 'not-found');
    assert.equal(sd.tsrun(['list', '--quiet']).stdout.trim(), '');
  });

  it('a scope systemd refuses (its unit already exists) fails create with systemd\'s reason and leaves nothing', () => {
    const first = name();
    const second = name();
    const bundle = bundleOf(['sleep', '1000'], (spec) => {
      spec.linux!.cgroupsPath = `system.slice:tsrun:${first}`;
    });
    try {
      assert.equal(sd.tsrun(['--systemd-cgroup', 'create', '--bundle', bundle, first]).status, 0);
      const r = sd.tsrun(['--systemd-cgroup', 'create', '--bundle', bundle, second]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`^tsrun: --systemd-cgroup: systemd refused scope tsrun-${first}\\.scope: org\\.freedesktop\\.systemd1\\.UnitExists: .+\\n$`));
      assert.deepEqual(sd.tsrun(['list', '--quiet']).stdout.trim().split('\n'), [first]);
      assert.equal(property(`tsrun-${first}.scope`, 'ActiveState'), 'active', 'the first container lost its scope');
      // Only the first container's init is in the scope.
      const procs = inside(`cat ${trackingDir(`/system.slice/tsrun-${first}.scope`)}/cgroup.procs`);
      assert.deepEqual(cgroupLines(procs), [String(JSON.parse(sd.tsrun(['state', first]).stdout).pid)]);
    } finally {
      sd.tsrun(['delete', '--force', first]);
    }
  });

  it('a cgroupsPath that is not slice:prefix:name is refused naming the field, before anything is made', () => {
    const tsrunScopes = `ls ${trackingDir('/system.slice')} | grep "^tsrun-" || true`;
    const before = inside(tsrunScopes);
    for (const [path, message] of [
      ['not-a-slice-path', /config\.json: \/linux\/cgroupsPath: "not-a-slice-path" is not of the form slice:prefix:name/],
      ['bad/name.slice:tsrun:x', /config\.json: \/linux\/cgroupsPath: "bad\/name\.slice:tsrun:x": "bad\/name\.slice" is not a slice/],
      ['system.slice:tsrun:', /config\.json: \/linux\/cgroupsPath: "system\.slice:tsrun:": the name after the second ":" is empty/],
    ] as const) {
      const id = name();
      const bundle = bundleOf(['true'], (spec) => {
        spec.linux!.cgroupsPath = path;
      });
      const r = sd.tsrun(['--systemd-cgroup', 'run', '--bundle', bundle, id]);
      assert.equal(r.status, 1, path);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.equal(sd.tsrun(['list', '--quiet']).stdout.trim(), '');
    }
    assert.equal(inside(tsrunScopes), before);
  });

  // On a machine whose init is systemd, podman.test.ts runs podman with
  // --cgroup-manager systemd against it; these two need the container.
  if (onSystemdMachine) return;

  it('podman --cgroup-manager systemd with tsrun: its containers are machine.slice/libpod-<id>.scope, limits applied, gone after rm', () => {
    // podman asks systemd for conmon's scope over the system bus, and copies images through /var/tmp.
    inside('systemctl start dbus.socket dbus.service && mkdir -p /var/tmp');
    const env = podmanWorld(sd.work);
    const podman = (args: string[]) => sd.run(['podman', '--runtime', 'tsrun', ...args], { env, timeoutMs: 120000 });
    const imported = podman(['import', join(env.dir, 'rootfs.tar'), 'localhost/tsrun-busybox:systemd']);
    assert.equal(imported.status, 0, imported.stderr);
    const run = ['run', '--network=none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];

    const once = podman([...run, '--rm', 'localhost/tsrun-busybox:systemd', 'sh', '-c', 'echo hello from podman; cat /proc/self/cgroup']);
    assert.equal(once.status, 0, once.stderr);
    const [hello, ...cgroups] = cgroupLines(once.stdout);
    assert.equal(hello, 'hello from podman');
    if (unified) {
      assert.deepEqual(cgroups, ['0::/'], 'podman asks for a cgroup namespace on v2');
    } else {
      const scope = /:(\/machine\.slice\/libpod-[0-9a-f]{64}\.scope)$/.exec(cgroups[0] ?? '');
      assert.ok(scope, once.stdout);
      assertAllIn(cgroups.join('\n'), scope[1]);
    }

    const started = podman([...run, '-d', '--memory', '64m', 'localhost/tsrun-busybox:systemd', 'sleep', '1000']);
    assert.equal(started.status, 0, started.stderr);
    const id = started.stdout.trim();
    const unit = `libpod-${id}.scope`;
    try {
      assert.equal(property(unit, 'ActiveState'), 'active');
      assert.equal(property(unit, 'Description'), `tsrun container ${id}`);
      const limit = podman(['exec', id, 'cat', unified ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes']);
      assert.equal(limit.stdout.trim(), String(64 * MIB), limit.stderr);
    } finally {
      const removed = podman(['rm', '-f', id]);
      assert.equal(removed.status, 0, removed.stderr);
    }
    assert.equal(property(unit, 'LoadState'), 'not-found');
  });

  it('deleting the systemd container removes every cgroup systemd and the inner tsrun made below its own', () => {
    const container = sd as SystemdContainer;
    const inner = name();
    assert.equal(sd.tsrun(['--systemd-cgroup', 'run', '--detach', '--bundle', bundleOf(['sleep', '1000']), inner]).status, 0);
    const dirs = cgroupDirsOf(container.id);
    assert.ok(dirs.length >= (unified ? 1 : 8), dirs.join(' '));
    assert.ok(
      dirs.some((d) => existsSync(`${d}/system.slice/tsrun-${inner}.scope`)),
      `no scope below ${dirs.join(' ')}`,
    );
    container.destroy();
    assert.deepEqual(cgroupDirsOf(container.id), []);
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
