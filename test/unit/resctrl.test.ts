// The resctrl group logic on a fake tree in a temp dir: this project's
// hosts have no RDT hardware (no resctrl in /proc/filesystems). The fake
// behaves as the kernel's files do where the logic depends on it: mkdir
// makes tasks, schemata and mon_groups; a schemata write replaces the lines
// of the resources it names; rmdir takes the whole group.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resctrlCall, type ResctrlTree } from '../../src/resctrl/tree';
import { joinIntelRdt, makeIntelRdtGroup, planIntelRdt, removeIntelRdt, writeSchemata } from '../../src/resctrl/group';
import { parseSchemataLine, resourceOf, schemataHolds, schemataLines } from '../../src/resctrl/schemata';
import { findResctrlMount } from '../../src/linux/resctrl-mount';
import { checkLinux } from '../../src/spec/semantic-linux';
import { ConfigError } from '../../src/errors';

const DEFAULT_SCHEMATA = 'L3:0=7ff;1=7ff\nMB:0=100;1=100\n';

function fakeTree(opts: { resources?: string[]; monitoring?: boolean } = {}): ResctrlTree & { dispose(): void } {
  const root = mkdtempSync(join(tmpdir(), 'tsrun-fake-resctrl-'));
  for (const r of opts.resources ?? ['L3', 'MB']) mkdirSync(join(root, 'info', r), { recursive: true });
  if (opts.monitoring ?? true) mkdirSync(join(root, 'info', 'L3_MON'), { recursive: true });
  writeFileSync(join(root, 'info', 'last_cmd_status'), 'ok\n');
  writeFileSync(join(root, 'schemata'), DEFAULT_SCHEMATA);
  writeFileSync(join(root, 'tasks'), '');
  // As the kernel: EINVAL from write(2), the reason in info/last_cmd_status.
  const fail = (call: string, path: string, status: string): never =>
    resctrlCall(root, path, () => {
      writeFileSync(join(root, 'info', 'last_cmd_status'), `${status}\n`);
      throw Object.assign(new Error('EINVAL'), { code: 'EINVAL', syscall: call, errno: -22 });
    });
  return {
    root,
    exists: (p) => existsSync(p),
    list: (p) => (existsSync(p) ? readdirSync(p) : []),
    mkdir: (p) => {
      mkdirSync(p);
      if (p.includes('/mon_groups/')) {
        writeFileSync(join(p, 'tasks'), '');
        return;
      }
      writeFileSync(join(p, 'tasks'), '');
      writeFileSync(join(p, 'schemata'), DEFAULT_SCHEMATA);
      mkdirSync(join(p, 'mon_groups'));
    },
    rmdir: (p) => rmSync(p, { recursive: true }),
    read: (p) => readFileSync(p, 'utf8'),
    write: (p, text) => {
      if (p.endsWith('/tasks')) {
        writeFileSync(p, readFileSync(p, 'utf8') + `${text}\n`);
        return;
      }
      const lines = readFileSync(p, 'utf8').split('\n').filter(Boolean);
      for (const line of text.split('\n').filter(Boolean)) {
        const res = resourceOf(line);
        const at = lines.findIndex((l) => resourceOf(l) === res);
        if (at < 0) fail('write', p, `Unknown or unsupported resource name '${res}'`);
        lines[at] = line;
      }
      writeFileSync(p, lines.join('\n') + '\n');
    },
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

const refusedAt = (pointer: string, re: RegExp) => (e: unknown): boolean => e instanceof ConfigError && e.pointer === pointer && re.test(e.detail);

describe('resctrl schemata lines', () => {
  it('orders l3CacheSchema, memBwSchema, then schemata, each named by its field', () => {
    const lines = schemataLines({ schemata: ['L2:0=f', ''], memBwSchema: 'MB:0=20', l3CacheSchema: 'L3:0=7f0' });
    assert.deepEqual(lines, [
      { line: 'L3:0=7f0', pointer: '/linux/intelRdt/l3CacheSchema' },
      { line: 'MB:0=20', pointer: '/linux/intelRdt/memBwSchema' },
      { line: 'L2:0=f', pointer: '/linux/intelRdt/schemata/0' },
    ]);
    assert.deepEqual(schemataLines({ closID: 'x' }), []);
  });

  it('parses domains, and compares with the kernel\'s own printing (widths, hex, decimal MB)', () => {
    assert.deepEqual([...parseSchemataLine('L3:0=7f0;1=1f').domains], [['0', '7f0'], ['1', '1f']]);
    assert.throws(() => parseSchemataLine('L3'), /not a schemata line/);
    assert.throws(() => parseSchemataLine('L3:0'), /is not "domain=value"/);
    const current = 'L3:0=07f0;1=001f\nMB:0=20;1=100\n';
    assert.equal(schemataHolds(current, 'L3:0=7f0'), true);
    assert.equal(schemataHolds(current, 'L3:0=7f0;1=1f'), true);
    assert.equal(schemataHolds(current, 'L3:1=ff'), false);
    assert.equal(schemataHolds(current, 'MB:0=20'), true);
    assert.equal(schemataHolds(current, 'MB:0=0020'), true);
    assert.equal(schemataHolds(current, 'MB:1=10'), false);
    assert.equal(schemataHolds(current, 'L2:0=f'), false);
  });

  it('config checks: memBwSchema starts with MB:, no newlines', () => {
    assert.throws(() => checkLinux({ intelRdt: { memBwSchema: 'L3:0=1' } }), refusedAt('/linux/intelRdt/memBwSchema', /must start with "MB:"/));
    assert.throws(() => checkLinux({ intelRdt: { l3CacheSchema: 'L3:0=1\nMB:0=1' } }), refusedAt('/linux/intelRdt/l3CacheSchema', /newline/));
    checkLinux({ intelRdt: { memBwSchema: 'MB:0=20', l3CacheSchema: 'L3:0=f' } });
  });

  it('finds the resctrl mount point in mountinfo', () => {
    const mi = '22 1 0:20 / /proc rw - proc proc rw\n40 22 0:35 / /sys/fs/resctrl rw,relatime shared:9 - resctrl resctrl rw\n';
    assert.equal(findResctrlMount(mi), '/sys/fs/resctrl');
    assert.equal(findResctrlMount('40 22 0:35 / /my\\040rdt rw - resctrl resctrl rw\n'), '/my rdt');
    assert.equal(findResctrlMount(mi.split('\n')[0]), null);
  });
});

describe('resctrl group (fake tree)', () => {
  let tree: ReturnType<typeof fakeTree>;
  afterEach(() => tree?.dispose());

  it('without closID: a group named after the id, lines written in order, pid in tasks, removed on delete', () => {
    tree = fakeTree();
    const plan = planIntelRdt({ l3CacheSchema: 'L3:0=f0', memBwSchema: 'MB:0=30', enableMonitoring: true }, 'c1', tree);
    assert.equal(plan.state.group, join(tree.root, 'c1'));
    assert.equal(plan.makeGroup, true);
    assert.equal(plan.state.removeGroup, true);
    assert.equal(plan.state.monGroup, join(tree.root, 'c1', 'mon_groups', 'c1'));
    const undo: Array<() => void> = [];
    makeIntelRdtGroup(plan, tree, undo);
    assert.equal(tree.read(join(tree.root, 'c1', 'schemata')), 'L3:0=f0\nMB:0=30\n');
    joinIntelRdt(plan.state, 4242, tree);
    assert.equal(tree.read(join(tree.root, 'c1', 'tasks')), '4242\n');
    assert.equal(tree.read(join(tree.root, 'c1', 'mon_groups', 'c1', 'tasks')), '4242\n');
    removeIntelRdt(plan.state, tree);
    assert.equal(existsSync(join(tree.root, 'c1')), false);
  });

  it('a failed create undoes what it made, latest first', () => {
    tree = fakeTree();
    const plan = planIntelRdt({ enableMonitoring: true }, 'c2', tree);
    const undo: Array<() => void> = [];
    makeIntelRdtGroup(plan, tree, undo);
    assert.equal(undo.length, 2);
    undo.reverse().forEach((u) => u());
    assert.deepEqual(readdirSync(tree.root).sort(), ['info', 'schemata', 'tasks']);
  });

  it('closID naming an existing group: joined, its matching settings accepted, never removed (its mon group is)', () => {
    tree = fakeTree();
    tree.mkdir(join(tree.root, 'gold'));
    tree.write(join(tree.root, 'gold', 'schemata'), 'L3:0=00f\n');
    const plan = planIntelRdt({ closID: 'gold', l3CacheSchema: 'L3:0=f', schemata: ['MB:0=40'], enableMonitoring: true }, 'c3', tree);
    assert.equal(plan.makeGroup, false);
    assert.equal(plan.state.removeGroup, false);
    // The existing group's L3 is compared, not rewritten; `schemata` lines are written.
    assert.deepEqual(plan.write.map((l) => l.line), ['MB:0=40']);
    makeIntelRdtGroup(plan, tree, []);
    assert.match(tree.read(join(tree.root, 'gold', 'schemata')), /MB:0=40/);
    removeIntelRdt(plan.state, tree);
    assert.equal(existsSync(join(tree.root, 'gold')), true);
    assert.equal(existsSync(join(tree.root, 'gold', 'mon_groups', 'c3')), false);
  });

  it('closID naming an existing group whose schemata differ is refused at the field', () => {
    tree = fakeTree();
    tree.mkdir(join(tree.root, 'gold'));
    assert.throws(() => planIntelRdt({ closID: 'gold', l3CacheSchema: 'L3:0=f' }, 'c4', tree), refusedAt('/linux/intelRdt/l3CacheSchema', /does not match the existing group/));
  });

  it('closID with no schemata must exist; with schemata it is made, and kept on delete', () => {
    tree = fakeTree();
    assert.throws(() => planIntelRdt({ closID: 'silver' }, 'c5', tree), refusedAt('/linux/intelRdt/closID', /does not exist/));
    const plan = planIntelRdt({ closID: 'silver', memBwSchema: 'MB:0=50' }, 'c5', tree);
    assert.equal(plan.makeGroup, true);
    makeIntelRdtGroup(plan, tree, []);
    removeIntelRdt(plan.state, tree);
    assert.equal(existsSync(join(tree.root, 'silver')), true);
  });

  it('closID "/" is the root group; bad names are refused', () => {
    tree = fakeTree();
    assert.equal(planIntelRdt({ closID: '/' }, 'c6', tree).state.group, tree.root);
    for (const bad of ['a/b', '..', 'info', 'mon_groups']) {
      assert.throws(() => planIntelRdt({ closID: bad }, 'c6', tree), refusedAt('/linux/intelRdt/closID', /is not a resctrl group name/), bad);
    }
  });

  it('refuses resources the host lacks (info/), monitoring without L3_MON, and a group left with the id', () => {
    tree = fakeTree({ resources: ['L3'], monitoring: false });
    assert.throws(() => planIntelRdt({ schemata: ['L3:0=f', 'MB:0=20'] }, 'c7', tree), refusedAt('/linux/intelRdt/schemata/1', /resource MB is not available on this host \(resctrl info\/ has: L3\)/));
    assert.throws(() => planIntelRdt({ enableMonitoring: true }, 'c7', tree), refusedAt('/linux/intelRdt/enableMonitoring', /no info\/L3_MON/));
    tree.mkdir(join(tree.root, 'c7'));
    assert.throws(() => planIntelRdt({}, 'c7', tree), refusedAt('/linux/intelRdt', /already exists/));
  });

  it('a line the kernel refuses names its field and the kernel\'s last_cmd_status', () => {
    tree = fakeTree({ resources: ['L3', 'L2'] });
    const plan = planIntelRdt({ schemata: ['L2:0=f'] }, 'c8', tree);
    const undo: Array<() => void> = [];
    assert.throws(() => makeIntelRdtGroup(plan, tree, undo), refusedAt('/linux/intelRdt/schemata/0', /"L2:0=f": write\(.*\/c8\/schemata\): EINVAL \(last_cmd_status: Unknown or unsupported resource name 'L2'\)/));
    undo.forEach((u) => u());
    assert.equal(existsSync(join(tree.root, 'c8')), false);
  });

  it('update writes the given lines to the container\'s group', () => {
    tree = fakeTree();
    const plan = planIntelRdt({}, 'c9', tree);
    makeIntelRdtGroup(plan, tree, []);
    writeSchemata(plan.state, [{ line: 'MB:0=10', pointer: '--mem-bw-schema' }], tree);
    assert.match(tree.read(join(plan.state.group, 'schemata')), /^MB:0=10$/m);
    assert.throws(() => writeSchemata(plan.state, [{ line: 'XX:0=1', pointer: '--l3-cache-schema' }], tree), /^Error: --l3-cache-schema: "XX:0=1": write|--l3-cache-schema: "XX:0=1"/);
  });
});
