// The v2 manager against a directory tree laid out like a cgroup2 mount.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { V2Manager } from '../../src/cgroups/v2/manager';
import type { LinuxDeviceCgroup } from '../../src/spec/types';

const INTERFACE_FILES = ['cgroup.procs', 'cgroup.freeze', 'memory.max', 'memory.low', 'memory.swap.max', 'memory.current', 'cpu.max', 'cpu.weight', 'pids.max', 'io.max', 'io.weight', 'cpuset.cpus', 'cpuset.mems'];

describe('cgroup v2 manager (fake cgroup2 tree)', () => {
  let mount: string;
  let dir: string;
  let devicesApplied: Array<{ dir: string; rules: LinuxDeviceCgroup[] }>;
  let manager: V2Manager;

  beforeEach(() => {
    mount = mkdtempSync(join(tmpdir(), 'tsrun-cg2-'));
    mkdirSync(join(mount, 'own'));
    for (const level of [mount, join(mount, 'own')]) {
      writeFileSync(join(level, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
      writeFileSync(join(level, 'cgroup.subtree_control'), '');
    }
    dir = join(mount, 'own', 'tsrun', 'c1');
    devicesApplied = [];
    manager = new V2Manager(dir, mount, (d, rules) => devicesApplied.push({ dir: d, rules }));
    manager.create();
    // The kernel would populate these; the fake tree needs them made.
    writeFileSync(join(mount, 'own', 'tsrun', 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    writeFileSync(join(mount, 'own', 'tsrun', 'cgroup.subtree_control'), '');
    writeFileSync(join(dir, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    for (const f of INTERFACE_FILES) writeFileSync(join(dir, f), f === 'memory.current' ? '0\n' : '');
  });
  afterEach(() => rmSync(mount, { recursive: true, force: true }));

  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');

  it('makes the directory and writes each resource to its file', () => {
    manager.setResources({
      memory: { limit: 268435456, reservation: 134217728, swap: 536870912 },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      pids: { limit: 100 },
      blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
      devices: [{ allow: false, access: 'rwm' }],
    });
    assert.equal(read('memory.max'), '268435456');
    assert.equal(read('memory.low'), '134217728');
    assert.equal(read('memory.swap.max'), String(536870912 - 268435456));
    assert.equal(read('cpu.max'), '50000 100000');
    assert.equal(read('cpu.weight'), '100');
    assert.equal(read('cpuset.cpus'), '0');
    assert.equal(read('pids.max'), '100');
    assert.equal(read('io.max'), '8:0 rbps=1000');
    assert.deepEqual(devicesApplied, [{ dir, rules: [{ allow: false, access: 'rwm' }] }]);
  });

  it('enables the controllers it needs in every ancestor, from the mount root down', () => {
    manager.setResources({ memory: { limit: 1 << 20 }, pids: { limit: 5 } });
    for (const level of [mount, join(mount, 'own'), join(mount, 'own', 'tsrun')]) {
      const written = readFileSync(join(level, 'cgroup.subtree_control'), 'utf8');
      assert.match(written, /\+memory/, level);
      assert.match(written, /\+pids/, level);
    }
  });

  it('adds processes, lists them, freezes through cgroup.freeze', () => {
    manager.addProcess(1234);
    assert.equal(read('cgroup.procs'), '1234');
    writeFileSync(join(dir, 'cgroup.procs'), '1234\n5678\n');
    assert.deepEqual(manager.pids(), [1234, 5678]);
    writeFileSync(join(dir, 'cgroup.events'), 'populated 1\nfrozen 1\n');
    manager.freeze();
    assert.equal(read('cgroup.freeze'), '1');
    assert.equal(manager.isFrozen(), true);
  });

  it('refuses a value the host cannot honour, naming the field, before writing anything', () => {
    rmSync(join(dir, 'memory.swap.max'));
    assert.throws(() => manager.setResources({ memory: { limit: 1000, swap: 4000 }, pids: { limit: 3 } }), /config.json: \/linux\/resources\/memory\/swap/);
    assert.equal(read('pids.max'), '');
  });

  it('removes its directory on destroy', () => {
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    manager.destroy();
    assert.throws(() => readFileSync(join(dir, 'cgroup.procs')));
  });
});
