// Where a container's cgroup goes and that nothing of it stays: the init is
// in it before any user code runs, relative cgroupsPaths join our own cgroup,
// and delete (plain, forced, after a failed create) removes every directory.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { Session, waitFor, isAlive, cmdline, nonEmptyLines } from '../helpers/session';
import { cgroupDirs, cgroupLeftovers, containerDirs, everyHierarchyDir, ownCgroup, procsOf, removeOwnCgroups, v1Mounts } from './cgroups-common';

/** /proc/<pid>/cgroup as controller -> path, v1 hierarchies only. */
function cgroupsOfProcess(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of nonEmptyLines(text)) {
    const [, controllers, path] = line.split(/:(.*?):/);
    for (const c of controllers.split(',')) if (c !== '') out.set(c, path);
  }
  return out;
}

describe('cgroups: placement', function () {
  this.timeout(120000);
  let s: Session;
  let ownSubs: string[];
  beforeEach(() => {
    s = new Session();
    ownSubs = [];
  });
  afterEach(() => {
    s.cleanup();
    for (const sub of ownSubs) removeOwnCgroups(sub);
  });

  it('at create, before start, the init is already in the container cgroup of every hierarchy', async () => {
    const bundle = s.bundle(['true']);
    const id = s.id('cgplace');
    const { pid } = s.create(id, bundle);
    const dirs = containerDirs(id);
    assert.ok(dirs.size >= 8, `hierarchies: ${[...dirs.keys()]}`);
    for (const [controller, dir] of dirs) {
      assert.deepEqual(procsOf(dir), [pid], `${controller}: cgroup.procs of ${dir}`);
    }
    const seen = cgroupsOfProcess(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    for (const controller of dirs.keys()) {
      assert.equal(seen.get(controller), posix.join(ownCgroup(controller), 'tsrun', id), `${controller} in /proc/${pid}/cgroup`);
    }
    // A hybrid host's cgroup2 hierarchy holds the container too (its 0:: line).
    const cgroup2 = everyHierarchyDir(`tsrun/${id}`).get('cgroup2');
    if (cgroup2) assert.deepEqual(procsOf(cgroup2), [pid], `cgroup.procs of ${cgroup2}`);
    s.ok(['start', id]);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped'));
    s.ok(['delete', id]);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('the program sees itself in tsrun/<id> in every v1 controller (no cgroup namespace)', async () => {
    const bundle = s.bundle(['cat', '/proc/self/cgroup'], (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'cgroup');
    });
    const id = s.id('cgplace');
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 0, r.stderr);
    const seen = cgroupsOfProcess(r.stdout);
    for (const controller of v1Mounts().keys()) {
      assert.equal(seen.get(controller), posix.join(ownCgroup(controller), 'tsrun', id), `${controller}: ${r.stdout}`);
    }
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('with a cgroup namespace the program sees its own cgroup as the root', () => {
    const bundle = s.bundle(['cat', '/proc/self/cgroup']);
    const id = s.id('cgplace');
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 0, r.stderr);
    const seen = cgroupsOfProcess(r.stdout);
    for (const controller of v1Mounts().keys()) assert.equal(seen.get(controller), '/', `${controller}: ${r.stdout}`);
  });

  it('a relative linux.cgroupsPath lands under our own cgroup', async () => {
    const id = s.id('cgplace');
    const parent = `tsrun-test-${process.pid}-${Date.now().toString(36)}`;
    const sub = `${parent}/${id}`;
    ownSubs.push(sub);
    const bundle = s.bundle(['sleep', '100'], (spec) => {
      spec.linux!.cgroupsPath = sub;
    });
    const { pid } = s.create(id, bundle);
    for (const [controller, dir] of cgroupDirs(sub)) assert.deepEqual(procsOf(dir), [pid], `${controller}: ${dir}`);
    for (const [controller, dir] of containerDirs(id)) assert.equal(existsSync(dir), false, `${controller}: also made ${dir}`);
    const mem = [...cgroupDirs(sub).entries()].find(([c]) => c === 'memory')![1];
    assert.ok(mem.includes(posix.join(ownCgroup('memory'), parent)), mem);
    s.ok(['delete', '--force', id]);
    assert.deepEqual(await cgroupLeftovers(id, sub), []);
  });
});

describe('cgroups: nothing left behind', function () {
  this.timeout(120000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  it('delete of a stopped container removes its cgroup and the emptied tsrun level', async () => {
    const bundle = s.bundle(['true']);
    const id = s.id('cgleft');
    s.create(id, bundle);
    for (const dir of containerDirs(id).values()) assert.ok(existsSync(dir), dir);
    s.ok(['start', id]);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped'));
    s.ok(['delete', id]);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('delete --force of a running container removes its cgroup', async () => {
    const bundle = s.bundle(['sh', '-c', 'sleep 1000 & sleep 1000']);
    const id = s.id('cgleft');
    s.create(id, bundle);
    s.ok(['start', id]);
    s.ok(['delete', '--force', id]);
    assert.deepEqual(await cgroupLeftovers(id), []);
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  it('the shared tsrun level stays while another container uses it and goes with the last', async () => {
    const a = s.id('cgleft');
    const b = s.id('cgleft');
    s.create(a, s.bundle(['sleep', '100']));
    s.create(b, s.bundle(['sleep', '100']));
    s.ok(['delete', '--force', a]);
    const memParent = posix.dirname(containerDirs(b).get('memory')!);
    assert.ok(existsSync(containerDirs(b).get('memory')!), 'the other container lost its cgroup');
    assert.ok(existsSync(memParent), 'the tsrun level went while still in use');
    assert.equal(existsSync(containerDirs(a).get('memory')!), false);
    s.ok(['delete', '--force', b]);
    assert.deepEqual(await cgroupLeftovers(a), []);
    assert.deepEqual(await cgroupLeftovers(b), []);
  });

  it('a failed create (cpu.cpus "999") names the field and leaves no state or cgroup', async () => {
    const bundle = s.bundle(['true'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, cpu: { cpus: '999' } };
    });
    const id = s.id('cgleft');
    const r = s.exec(['create', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/linux\/resources\/cpu\/cpus/);
    assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
    assert.deepEqual(s.rootEntries(), []);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('a failed create (missing program) leaves no state, process or cgroup', async () => {
    const bundle = s.bundle(['/no/such/program']);
    const id = s.id('cgleft');
    const r = s.exec(['create', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /no\/such\/program/);
    assert.deepEqual(s.rootEntries(), []);
    assert.deepEqual(s.leftovers(bundle, id), []);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('without a pid namespace, delete kills what the exited init left behind and removes the cgroup', async () => {
    const bundle = s.bundle(['sh', '-c', 'sleep 1003 & exit 0'], (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'pid');
    });
    const id = s.id('cgleft');
    const { pid } = s.create(id, bundle);
    const pidsDir = containerDirs(id).get('pids')!;
    s.ok(['start', id]);
    assert.ok(await waitFor(() => !isAlive(pid)), 'the init did not exit');
    const left = procsOf(pidsDir).filter((p) => cmdline(p) === 'sleep 1003');
    assert.equal(left.length, 1, `cgroup.procs: ${procsOf(pidsDir)}`);
    s.track(left[0]);
    assert.equal(s.state(id).status, 'stopped');
    s.ok(['delete', id]);
    assert.ok(await waitFor(() => !isAlive(left[0])), 'the leftover sleep survived delete');
    assert.deepEqual(await cgroupLeftovers(id), []);
  });
});

describe('cgroups: values the host cannot honour', function () {
  this.timeout(120000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  it('linux.resources.unified on this v1 host: one line naming /linux/resources/unified, exit 1, nothing left', async () => {
    const bundle = s.bundle(['true'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, unified: { 'memory.max': '16777216' } };
    });
    const id = s.id('cghost');
    const r = s.exec(['create', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/linux\/resources\/unified/);
    assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
    assert.deepEqual(s.rootEntries(), []);
    assert.deepEqual(await cgroupLeftovers(id), []);
    // run says the same
    const run = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /\/linux\/resources\/unified/);
    assert.deepEqual(s.rootEntries(), []);
  });

  it('a controller file this host lacks names the field', async () => {
    const bundle = s.bundle(['true'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, hugepageLimits: [{ pageSize: '3MB', limit: 1 << 22 }] };
    });
    const id = s.id('cghost');
    const r = s.exec(['create', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/linux\/resources\/hugepageLimits\/0/);
    assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
    assert.deepEqual(s.rootEntries(), []);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });
});

describe('--systemd-cgroup', () => {
  it('fails clearly on a host without systemd and leaves nothing', function () {
    if (existsSync('/run/systemd/system')) this.skip();
    const s = new Session();
    try {
      const b = s.bundle(['true']);
      const id = s.id('sd');
      const out = s.exec(['run', '--bundle', b.dir, id], { globals: ['--systemd-cgroup'] });
      assert.equal(out.status, 1);
      assert.match(out.stderr, /--systemd-cgroup: systemd is not running on this host/);
      assert.deepEqual(s.leftovers(b, id), []);
    } finally {
      s.cleanup();
    }
  });
});
