// Where a container's cgroup goes and that nothing of it stays: the init is
// in it before any user code runs, relative cgroupsPaths join our own cgroup
// (v1) or its parent (unified v2, runc's placement), and delete (plain,
// forced, after a failed create) removes every directory.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { Session, waitFor, isAlive, cmdline, nonEmptyLines } from '../helpers/session';
import {
  TEST_TIMEOUT_MS,
  WAIT_MS,
  cgroup2Mount,
  cgroupDirs,
  cgroupLeftovers,
  containerBase,
  containerDirs,
  dirOf,
  everyHierarchyDir,
  isCgroupV2,
  memoryLimitFile,
  ownCgroup,
  procsOf,
  readCg,
  readCgNumber,
  removeOwnCgroups,
  v1Mounts,
} from './cgroups-common';
import { warmUpCgroupMove } from '../../src/cgroups/move-warmup';

const MiB = 1024 * 1024;

/** /proc/<pid>/cgroup as controller -> path; the cgroup2 line ("0::") under "". */
function cgroupsOfProcess(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of nonEmptyLines(text)) {
    const [, controllers, path] = line.split(/:(.*?):/);
    for (const c of controllers.split(',')) out.set(c, path);
  }
  return out;
}

/**
 * Where /proc/<pid>/cgroup of a process in the container's cgroup `sub`
 * should put it, per line: each v1 controller under our own cgroup, and the
 * cgroup2 line under our own (hybrid) or its parent (unified).
 */
function expectedProcCgroups(sub: string): Map<string, string> {
  const expected = new Map<string, string>();
  for (const controller of v1Mounts().keys()) expected.set(controller, posix.join(ownCgroup(controller), sub));
  if (cgroup2Mount() !== undefined) expected.set('', posix.join(containerBase(''), sub));
  return expected;
}

describe('cgroups: placement', function () {
  this.timeout(TEST_TIMEOUT_MS);
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
    // v1: one directory per controller hierarchy; unified: the one directory.
    if (isCgroupV2()) assert.deepEqual([...dirs.keys()], ['']);
    else assert.ok(dirs.size >= 8, `hierarchies: ${[...dirs.keys()]}`);
    for (const [controller, dir] of dirs) {
      assert.deepEqual(procsOf(dir), [pid], `${controller}: cgroup.procs of ${dir}`);
    }
    const proc = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    assert.deepEqual(cgroupsOfProcess(proc), expectedProcCgroups(`tsrun/${id}`), `/proc/${pid}/cgroup: ${proc}`);
    // A hybrid host's cgroup2 hierarchy holds the container too (its 0:: line).
    const cgroup2 = everyHierarchyDir(`tsrun/${id}`).get('cgroup2');
    if (cgroup2) assert.deepEqual(procsOf(cgroup2), [pid], `cgroup.procs of ${cgroup2}`);
    s.ok(['start', id]);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped', WAIT_MS));
    s.ok(['delete', id]);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('with memory and pids limits and no cgroupsPath, the cgroup is <mount>/<own cgroup (v1) or its parent (v2)>/tsrun/<id> and the limits hold', async () => {
    // On a systemd host our own cgroup is a leaf scope holding processes,
    // where v2 cannot enable controllers for a child: placed under it, the
    // container's memory limit failed ("the memory controller is not enabled").
    const bundle = s.bundle(['sleep', '1000'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 40 * MiB }, pids: { limit: 17 } };
    });
    const id = s.id('cgplace');
    const { pid } = s.create(id, bundle);
    const expected = isCgroupV2()
      ? posix.join(cgroup2Mount() as string, posix.dirname(ownCgroup('')), 'tsrun', id)
      : posix.join(v1Mounts().get('memory') as string, ownCgroup('memory'), 'tsrun', id);
    assert.equal(dirOf(id, 'memory'), expected);
    assert.deepEqual(procsOf(expected), [pid]);
    assert.equal(readCgNumber(id, 'memory', memoryLimitFile()), 40 * MiB);
    assert.equal(readCg(id, 'pids', 'pids.max'), '17');
    s.ok(['start', id]);
    // From inside: the container reads its own limits in its cgroup.
    const memory = s.ok(['exec', id, 'sh', '-c', `cat /sys/fs/cgroup/${isCgroupV2() ? '' : 'memory/'}${memoryLimitFile()}`]).stdout.trim();
    assert.equal(Number(memory), 40 * MiB);
    s.ok(['delete', '--force', id]);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('the program sees itself in tsrun/<id> in every hierarchy (no cgroup namespace)', async () => {
    const bundle = s.bundle(['cat', '/proc/self/cgroup'], (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'cgroup');
    });
    const id = s.id('cgplace');
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(cgroupsOfProcess(r.stdout), expectedProcCgroups(`tsrun/${id}`), r.stdout);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('with a cgroup namespace the program sees its own cgroup as the root', () => {
    const bundle = s.bundle(['cat', '/proc/self/cgroup']);
    const id = s.id('cgplace');
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 0, r.stderr);
    const roots = new Map([...expectedProcCgroups(`tsrun/${id}`).keys()].map((k) => [k, '/']));
    assert.deepEqual(cgroupsOfProcess(r.stdout), roots, r.stdout);
  });

  it('exec joins the container cgroup; on v2, once the init moved to a sub-cgroup and gave it the controllers (systemd does), the init cgroup', async () => {
    // v2's "no internal processes" rule makes the container's top refuse
    // processes (EBUSY) once its subtree_control is set: runc execs beside the
    // init then. v1 has no such rule, and exec goes to the container's top.
    const v2 = isCgroupV2();
    const moveInit = v2
      ? 'mkdir /sys/fs/cgroup/init && echo $$ > /sys/fs/cgroup/init/cgroup.procs && echo +pids > /sys/fs/cgroup/cgroup.subtree_control'
      : 'mkdir /sys/fs/cgroup/pids/init && echo $$ > /sys/fs/cgroup/pids/init/cgroup.procs';
    const bundle = s.bundle(['sh', '-c', `set -e; ${moveInit}; touch /moved; exec sleep 1000`], (spec) => {
      const cgroupMount = spec.mounts!.find((m) => m.destination === '/sys/fs/cgroup')!;
      cgroupMount.options = cgroupMount.options!.filter((o) => o !== 'ro').concat('rw');
      spec.root!.readonly = false;
    });
    const id = s.id('cgplace');
    s.create(id, bundle);
    s.ok(['start', id]);
    assert.ok(await waitFor(() => existsSync(`${bundle.rootfs}/moved`) || s.state(id).status === 'stopped', WAIT_MS));
    assert.equal(existsSync(`${bundle.rootfs}/moved`), true, 'the init could not move itself to a sub-cgroup');
    const r = s.exec(['exec', id, 'cat', '/proc/self/cgroup']);
    assert.equal(r.status, 0, r.stderr);
    const seen = cgroupsOfProcess(r.stdout);
    if (v2) assert.equal(seen.get(''), '/init', r.stdout);
    else assert.equal(seen.get('pids'), '/', r.stdout);
    s.ok(['delete', '--force', id]);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it("the move warm-up (create's and exec's head start on the grace period) leaves this process where it was and keeps no descriptor", async () => {
    const procsFds = (): string[] =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).endsWith('/cgroup.procs');
        } catch {
          return false; // the directory's own descriptor, gone by now
        }
      });
    const before = readFileSync('/proc/self/cgroup', 'utf8');
    const fdsBefore = procsFds();
    warmUpCgroupMove();
    // Open while its write waits on the thread pool; closed once it is done.
    assert.equal(procsFds().length, fdsBefore.length + 1, 'no cgroup.procs descriptor open for the move');
    assert.ok(await waitFor(() => procsFds().length === fdsBefore.length, WAIT_MS), 'its descriptor stayed open');
    assert.equal(readFileSync('/proc/self/cgroup', 'utf8'), before);
  });

  it('a relative linux.cgroupsPath lands under our own cgroup (v1) or its parent (v2)', async () => {
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
    const proc = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    assert.deepEqual(cgroupsOfProcess(proc), expectedProcCgroups(sub), proc);
    s.ok(['delete', '--force', id]);
    assert.deepEqual(await cgroupLeftovers(id, sub), []);
  });
});

describe('cgroups: nothing left behind', function () {
  this.timeout(TEST_TIMEOUT_MS);
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
    assert.ok(await waitFor(() => s.state(id).status === 'stopped', WAIT_MS));
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
    const memParent = posix.dirname(dirOf(b, 'memory'));
    assert.ok(existsSync(dirOf(b, 'memory')), 'the other container lost its cgroup');
    assert.ok(existsSync(memParent), 'the tsrun level went while still in use');
    assert.equal(existsSync(dirOf(a, 'memory')), false);
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
    const pidsDir = dirOf(id, 'pids');
    s.ok(['start', id]);
    assert.ok(await waitFor(() => !isAlive(pid), WAIT_MS), 'the init did not exit');
    // The backgrounded child may not have exec'd sleep yet when the init is gone.
    const sleeps = (): number[] => procsOf(pidsDir).filter((p) => cmdline(p) === 'sleep 1003');
    assert.ok(await waitFor(() => sleeps().length > 0, WAIT_MS), `cgroup.procs: ${procsOf(pidsDir)}`);
    const left = sleeps();
    assert.equal(left.length, 1, `cgroup.procs: ${procsOf(pidsDir)}`);
    s.track(left[0]);
    assert.equal(s.state(id).status, 'stopped');
    s.ok(['delete', id]);
    assert.ok(await waitFor(() => !isAlive(left[0]), WAIT_MS), 'the leftover sleep survived delete');
    assert.deepEqual(await cgroupLeftovers(id), []);
  });
});

describe('cgroups: values the host cannot honour', function () {
  this.timeout(TEST_TIMEOUT_MS);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  it('linux.resources.unified: on v2 written as given (over a typed field); on v1 one line naming the field, exit 1, nothing left', async () => {
    const bundle = s.bundle(['true'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 32 * MiB }, unified: { 'memory.max': String(16 * MiB), 'pids.max': '9' } };
    });
    const id = s.id('cghost');
    if (isCgroupV2()) {
      s.create(id, bundle);
      // Applied after the typed fields, so its memory.max wins.
      assert.equal(readCgNumber(id, 'memory', 'memory.max'), 16 * MiB);
      assert.equal(readCg(id, 'pids', 'pids.max'), '9');
      s.ok(['delete', '--force', id]);
      assert.deepEqual(await cgroupLeftovers(id), []);
      return;
    }
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
