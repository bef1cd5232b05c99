// linux.memoryPolicy and linux.intelRdt on real containers: the policy seen
// from inside (/proc/self/numa_maps) for every mode, in the init and in an
// exec'd process; refusals (a node the host lacks, intelRdt where resctrl
// is not mounted, update's schemata flags without a group) as one line with
// nothing left behind.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session, nonEmptyLines } from '../helpers/session';
import type { LinuxMemoryPolicy, Spec } from '../../src/spec/types';
import { parseNodeList } from '../../src/linux/kernel-list';
import { hostResctrlMount } from '../../src/linux/resctrl-mount';
import { setMemoryPolicy } from '../../src/linux/numa';
import { MPOL_MODES } from '../../src/process/plan/memory-policy';

const ONLINE = existsSync('/sys/devices/system/node/online') ? parseNodeList(readFileSync('/sys/devices/system/node/online', 'utf8')) : [];
const N = ONLINE[0] ?? 0;
/** The kernel's NUMA balancing with MPOL_PREFERRED_MANY came in Linux 6.10. */
const KERNEL = readFileSync('/proc/sys/kernel/osrelease', 'utf8').split('.').map(Number);
const KERNEL_6_10 = KERNEL[0] > 6 || (KERNEL[0] === 6 && KERNEL[1] >= 10);

/** The first mapping of numa_maps: "<address> <policy> file=...", the policy as mpol_to_str prints it. */
const FIRST_POLICY = ['head', '-n', '1', '/proc/self/numa_maps'];

/** The policy in a numa_maps line, which may hold spaces ("prefer (many):0"). */
function policyOf(line: string): string {
  const m = /^[0-9a-f]+ (.*?) (?:file=|anon=|heap|stack|huge|mapped=|N\d+=)/.exec(line.trim());
  return m ? m[1] : `unparsed numa_maps line: ${line}`;
}

/**
 * Runs `fn` with this thread's memory policy set to `mode` on node N: the
 * tsrun it spawns inherits it (set_mempolicy is per thread, and the spawn
 * forks from this one). Restored to MPOL_DEFAULT after.
 */
function withOwnPolicy<T>(mode: number, fn: () => T): T {
  setMemoryPolicy(mode, [N], 'test background policy');
  try {
    return fn();
  } finally {
    setMemoryPolicy(MPOL_MODES.MPOL_DEFAULT, [], 'MPOL_DEFAULT');
  }
}

function withPolicy(mp: LinuxMemoryPolicy): (spec: Spec) => void {
  return (spec) => {
    spec.linux!.memoryPolicy = mp;
  };
}

describe('linux.memoryPolicy', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(function () {
    if (ONLINE.length === 0) this.skip();
    s = new Session();
  });
  afterEach(() => s?.cleanup());

  // mode, flags, and what numa_maps prints for the policy (mpol_to_str).
  const cases: Array<[LinuxMemoryPolicy, string]> = [
    [{ mode: 'MPOL_DEFAULT' }, 'default'],
    [{ mode: 'MPOL_LOCAL' }, 'local'],
    [{ mode: 'MPOL_BIND', nodes: `${N}` }, `bind:${N}`],
    [{ mode: 'MPOL_INTERLEAVE', nodes: `${N}` }, `interleave:${N}`],
    [{ mode: 'MPOL_PREFERRED', nodes: `${N}` }, `prefer:${N}`],
    [{ mode: 'MPOL_PREFERRED_MANY', nodes: `${N}` }, `prefer (many):${N}`],
    [{ mode: 'MPOL_WEIGHTED_INTERLEAVE', nodes: `${N}` }, `weighted interleave:${N}`],
    [{ mode: 'MPOL_BIND', nodes: `${N}`, flags: ['MPOL_F_STATIC_NODES'] }, `bind=static:${N}`],
    [{ mode: 'MPOL_INTERLEAVE', nodes: `${N}`, flags: ['MPOL_F_RELATIVE_NODES'] }, `interleave=relative:${N}`],
    [{ mode: 'MPOL_BIND', nodes: `${N}`, flags: ['MPOL_F_NUMA_BALANCING'] }, `bind=balancing:${N}`],
  ];
  for (const [mp, shown] of cases) {
    it(`${mp.mode}${mp.flags ? ` ${mp.flags.join('|')}` : ''}: numa_maps in the container shows "${shown}"`, () => {
      const b = s.bundle(FIRST_POLICY, withPolicy(mp));
      // tsrun inherits a policy that differs from the one asked for, so that
      // even MPOL_DEFAULT shows only when tsrun applied it.
      const background = mp.mode === 'MPOL_PREFERRED' ? MPOL_MODES.MPOL_INTERLEAVE : MPOL_MODES.MPOL_PREFERRED;
      const out = withOwnPolicy(background, () => s.ok(['run', '--bundle', b.dir, s.id('mp')]));
      assert.equal(policyOf(out.stdout), shown);
    });
  }

  it(`MPOL_PREFERRED_MANY with MPOL_F_NUMA_BALANCING (Linux 6.10+${KERNEL_6_10 ? '' : ', skipped: older kernel'})`, function () {
    if (!KERNEL_6_10) this.skip();
    const b = s.bundle(FIRST_POLICY, withPolicy({ mode: 'MPOL_PREFERRED_MANY', nodes: `${N}`, flags: ['MPOL_F_NUMA_BALANCING'] }));
    assert.equal(policyOf(s.ok(['run', '--bundle', b.dir, s.id('mp')]).stdout), `prefer (many)=balancing:${N}`);
  });

  it('an exec\'d process has the container\'s policy too (as runc 1.3)', () => {
    const b = s.bundle(['sleep', '60'], withPolicy({ mode: 'MPOL_INTERLEAVE', nodes: `${N}` }));
    const id = s.id('mpx');
    s.create(id, b);
    s.ok(['start', id]);
    const out = s.ok(['exec', id, ...FIRST_POLICY]);
    assert.equal(policyOf(out.stdout), `interleave:${N}`);
    s.ok(['delete', '--force', id]);
  });

  it('a node the host lacks (9) is refused in one line naming /linux/memoryPolicy/nodes, nothing left', () => {
    const b = s.bundle(['true'], withPolicy({ mode: 'MPOL_BIND', nodes: `${N},9` }));
    const id = s.id('mp9');
    const out = s.exec(['create', '--bundle', b.dir, id]);
    assert.notEqual(out.status, 0);
    const lines = nonEmptyLines(out.stderr);
    assert.equal(lines.length, 1, out.stderr);
    assert.match(lines[0], /config\.json: \/linux\/memoryPolicy\/nodes: node 9 does not exist on this host \(online nodes: /);
    assert.deepEqual(s.leftovers(b, id), []);
  });

  it('bad node syntax and kernel-refused flag sets are refused before anything is made', () => {
    const bad: Array<[LinuxMemoryPolicy, RegExp]> = [
      [{ mode: 'MPOL_BIND', nodes: '3-1' }, /\/linux\/memoryPolicy\/nodes: range "3-1" ends before it starts/],
      [{ mode: 'MPOL_BIND', nodes: `${N}`, flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] }, /\/linux\/memoryPolicy\/flags: .*exclude each other/],
      [{ mode: 'MPOL_LOCAL', flags: ['MPOL_F_STATIC_NODES'] }, /\/linux\/memoryPolicy\/flags: must be empty for mode "MPOL_LOCAL"/],
      [{ mode: 'MPOL_INTERLEAVE', nodes: `${N}`, flags: ['MPOL_F_NUMA_BALANCING'] }, /MPOL_F_NUMA_BALANCING needs mode/],
      [{ mode: 'MPOL_PREFERRED', nodes: '0-1' }, /MPOL_PREFERRED takes one node/],
    ];
    for (const [mp, re] of bad) {
      const b = s.bundle(['true'], withPolicy(mp));
      const id = s.id('mpbad');
      const out = s.exec(['create', '--bundle', b.dir, id]);
      assert.notEqual(out.status, 0, JSON.stringify(mp));
      assert.equal(nonEmptyLines(out.stderr).length, 1, out.stderr);
      assert.match(out.stderr, re);
      assert.deepEqual(s.leftovers(b, id), []);
    }
  });
});

describe('linux.intelRdt', function () {
  this.timeout(60000);
  let s: Session;
  const mounted = hostResctrlMount() !== null;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s?.cleanup());

  it(`refused at create where resctrl is not mounted, one line, nothing left${mounted ? ' (skipped: resctrl is mounted here)' : ''}`, function () {
    if (mounted) this.skip();
    const b = s.bundle(['true'], (spec) => {
      spec.linux!.intelRdt = { l3CacheSchema: 'L3:0=f' };
    });
    const id = s.id('rdt');
    const out = s.exec(['create', '--bundle', b.dir, id]);
    assert.notEqual(out.status, 0);
    assert.deepEqual(nonEmptyLines(out.stderr).length, 1, out.stderr);
    assert.match(out.stderr, /config\.json: \/linux\/intelRdt: resctrl is not mounted on this host \(/);
    assert.deepEqual(s.leftovers(b, id), []);
  });

  it('update --l3-cache-schema on a container without an intelRdt group is refused in one line, nothing changed', () => {
    const b = s.bundle(['sleep', '60']);
    const id = s.id('rdtu');
    s.create(id, b);
    const out = s.exec(['update', '--l3-cache-schema', 'L3:0=f', id]);
    assert.notEqual(out.status, 0);
    assert.equal(nonEmptyLines(out.stderr).length, 1, out.stderr);
    assert.match(out.stderr, /has no resctrl group .*--l3-cache-schema and --mem-bw-schema need one/);
    const bad = s.exec(['update', '--mem-bw-schema', 'L3:0=f', id]);
    assert.match(bad.stderr, /--mem-bw-schema: must start with "MB:"/);
    assert.equal(s.state(id).status, 'created');
    s.ok(['delete', '--force', id]);
    assert.deepEqual(s.leftovers(b, id), []);
  });

  // The group logic is unit-tested on a fake tree (test/unit/resctrl.test.ts);
  // this runs only where resctrl is mounted (RDT hardware), which neither
  // this project's hosts nor its VM rig have.
  it(`a group named after the id: init and exec'd process in its tasks, removed on delete${mounted ? '' : ' (skipped: resctrl is not mounted on this host)'}`, function () {
    const root = hostResctrlMount();
    if (root === null) this.skip();
    const b = s.bundle(['sleep', '60'], (spec) => {
      spec.linux!.intelRdt = {};
    });
    const id = s.id('rdtg');
    const { pid } = s.create(id, b);
    const tasks = (): number[] => readFileSync(join(root, id, 'tasks'), 'utf8').split('\n').filter(Boolean).map(Number);
    assert.ok(tasks().includes(pid), `init ${pid} not in ${root}/${id}/tasks`);
    s.ok(['start', id]);
    const pidFile = join(b.dir, 'exec.pid');
    s.ok(['exec', '--detach', '--pid-file', pidFile, id, 'sleep', '60']);
    const execPid = Number(readFileSync(pidFile, 'utf8'));
    s.track(execPid);
    assert.ok(tasks().includes(execPid), `exec'd ${execPid} not in ${root}/${id}/tasks`);
    s.ok(['delete', '--force', id]);
    assert.equal(existsSync(join(root, id)), false);
  });
});
