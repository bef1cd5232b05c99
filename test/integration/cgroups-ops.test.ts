// The commands that work through a live container's cgroup: pause/resume
// (the v1 freezer, cgroup.freeze on v2), update, ps, events --stats and kill --all.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/harness';
import { Session, waitFor, sleep, isAlive, cmdline, nonEmptyLines } from '../helpers/session';
import { TEST_TIMEOUT_MS, WAIT_MS, cgroupLeftovers, cpuQuota, deviceRulesOf, dirOf, freezerState, memoryLimitFile, procsOf, readCg, readCgNumber, thaw } from './cgroups-common';

const MiB = 1024 * 1024;

describe('cgroups: pause and resume', function () {
  this.timeout(TEST_TIMEOUT_MS);
  let s: Session;
  let dirs: string[];
  let paused: string[];
  beforeEach(() => {
    s = new Session();
    dirs = [];
    paused = [];
  });
  afterEach(() => {
    // Should the test fail with a container frozen, thaw it (its own freezer
    // cgroup) so the session's delete --force can kill it.
    for (const id of paused) {
      try {
        thaw(id);
      } catch {
        // gone already
      }
    }
    s.cleanup();
    for (const d of dirs) spawnSync('rm', ['-rf', d]);
  });

  it('pause freezes a counting loop (state paused), resume lets it go on (state running)', async () => {
    const out = tempDir('tsrun-cg-out-');
    dirs.push(out);
    const bundle = s.bundle(['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i >> /out/count; usleep 20000; done'], (spec) => {
      spec.mounts!.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
    });
    const id = s.id('cgpause');
    paused.push(id);
    s.create(id, bundle);
    s.ok(['start', id]);
    const count = join(out, 'count');
    const size = (): number => {
      try {
        return statSync(count).size;
      } catch {
        return 0;
      }
    };
    assert.ok(await waitFor(() => size() > 20, WAIT_MS), 'the loop never counted');

    s.ok(['pause', id]);
    assert.equal(s.state(id).status, 'paused');
    assert.equal(freezerState(id), 'FROZEN');
    const frozenAt = size();
    await sleep(600);
    assert.equal(size(), frozenAt, 'the loop kept counting while paused');
    assert.equal(s.state(id).status, 'paused');

    s.ok(['resume', id]);
    assert.equal(s.state(id).status, 'running');
    assert.equal(freezerState(id), 'THAWED');
    assert.ok(await waitFor(() => size() > frozenAt + 20, WAIT_MS), 'the loop did not go on after resume');

    // resume of a running container, and a second pause/resume round
    const again = s.exec(['resume', id]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /not paused/);
    s.ok(['pause', id]);
    // delete --force of a paused container still kills it and removes the cgroup
    s.ok(['delete', '--force', id]);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('pause of a stopped container fails and leaves it stopped', async () => {
    const bundle = s.bundle(['true']);
    const id = s.id('cgpause');
    s.create(id, bundle);
    s.ok(['start', id]);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped', WAIT_MS));
    const r = s.exec(['pause', id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not running/);
    assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
    assert.equal(s.state(id).status, 'stopped');
    const missing = s.exec(['pause', 'no-such-container']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /does not exist/);
  });
});

describe('cgroups: update', function () {
  this.timeout(TEST_TIMEOUT_MS);
  let s: Session;
  let dirs: string[];
  beforeEach(() => {
    s = new Session();
    dirs = [];
  });
  afterEach(() => {
    s.cleanup();
    for (const d of dirs) spawnSync('rm', ['-rf', d]);
  });

  it('changes live limits with flags and --resources FILE', () => {
    const bundle = s.bundle(['sleep', '1000'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 32 * MiB }, pids: { limit: 50 }, cpu: { quota: 50000, period: 100000 } };
    });
    const id = s.id('cgupd');
    s.create(id, bundle);
    s.ok(['start', id]);
    assert.equal(readCgNumber(id, 'memory', memoryLimitFile()), 32 * MiB);

    s.ok(['update', '--memory', '64m', '--pids-limit', '30', '--cpu-quota', '30000', id]);
    assert.equal(readCgNumber(id, 'memory', memoryLimitFile()), 64 * MiB);
    assert.equal(readCg(id, 'pids', 'pids.max'), '30');
    assert.deepEqual(cpuQuota(id), { quota: 30000, period: 100000 }, 'the period changed though not asked to');

    const file = join(tempDir('tsrun-cg-res-'), 'resources.json');
    dirs.push(join(file, '..'));
    writeFileSync(file, JSON.stringify({ memory: { limit: 48 * MiB }, pids: { limit: 25 }, cpu: { quota: 40000, period: 200000 } }));
    s.ok(['update', '--resources', file, id]);
    assert.equal(readCgNumber(id, 'memory', memoryLimitFile()), 48 * MiB);
    assert.equal(readCg(id, 'pids', 'pids.max'), '25');
    assert.deepEqual(cpuQuota(id), { quota: 40000, period: 200000 });

    // -1: unlimited
    s.ok(['update', '--pids-limit', '-1', id]);
    assert.equal(readCg(id, 'pids', 'pids.max'), 'max');
    assert.equal(s.state(id).status, 'running');
  });

  it('--resources - and -r - read the LinuxResources JSON from stdin', () => {
    const bundle = s.bundle(['sleep', '1000'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 32 * MiB }, pids: { limit: 50 } };
    });
    const id = s.id('cgupd');
    s.create(id, bundle);
    s.ok(['start', id]);
    // update starts no container, so plain pipes are fine here.
    const long = s.runtime.run(['update', '--resources', '-', id], { input: JSON.stringify({ pids: { limit: 35 } }) });
    assert.equal(long.status, 0, long.stderr);
    assert.equal(readCg(id, 'pids', 'pids.max'), '35');
    assert.equal(readCgNumber(id, 'memory', memoryLimitFile()), 32 * MiB, 'a field left out changed');
    const short = s.runtime.run(['update', '-r', '-', id], { input: JSON.stringify({ pids: { limit: 36 } }) });
    assert.equal(short.status, 0, short.stderr);
    assert.equal(readCg(id, 'pids', 'pids.max'), '36');
    const bad = s.runtime.run(['update', '--resources=-', id], { input: '{"pids": ' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /invalid JSON/);
    assert.equal(readCg(id, 'pids', 'pids.max'), '36');
  });

  it('keeps the config\'s device rules when updating something else', () => {
    const bundle = s.bundle(['sleep', '1000'], (spec) => {
      spec.linux!.resources!.devices = [...(spec.linux!.resources!.devices ?? []), { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }];
    });
    const id = s.id('cgupd');
    s.create(id, bundle);
    s.ok(['start', id]);
    const nullWrite = (): string => s.ok(['exec', id, 'sh', '-c', 'echo x > /dev/null 2>&1 && echo null-write=ok || echo null-write=refused']).stdout.trim();
    assert.equal(nullWrite(), 'null-write=refused');
    const before = deviceRulesOf(id);
    s.ok(['update', '--pids-limit', '40', id]);
    assert.equal(readCg(id, 'pids', 'pids.max'), '40');
    assert.equal(deviceRulesOf(id), before, 'update rewrote the device rules');
    assert.equal(nullWrite(), 'null-write=refused', 'update dropped the device rules');
  });

  it('an impossible value fails naming the field and leaves the old one', () => {
    const bundle = s.bundle(['sleep', '1000'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, cpu: { quota: 50000, period: 100000 } };
    });
    const id = s.id('cgupd');
    s.create(id, bundle);
    s.ok(['start', id]);
    const r = s.exec(['update', '--cpuset-cpus', '999', id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/linux\/resources\/cpu\/cpus/);
    assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
    assert.equal(s.state(id).status, 'running');
  });

  it('update of a missing container: does not exist', () => {
    const r = s.exec(['update', '--memory', '64m', 'no-such-container']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /does not exist/);
    assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
  });
});

describe('cgroups: ps, events --stats, kill --all', function () {
  this.timeout(TEST_TIMEOUT_MS);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  async function twoSleeps(withPidNamespace: boolean): Promise<{ id: string; pid: number; sleeps: number[] }> {
    const bundle = s.bundle(['sh', '-c', 'sleep 1001 & sleep 1002 & wait'], (spec) => {
      if (!withPidNamespace) spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'pid');
    });
    const id = s.id('cgps');
    const { pid } = s.create(id, bundle);
    s.ok(['start', id]);
    const sleeps = (): number[] => procsOf(dirOf(id, 'pids')).filter((p) => /^sleep 100[12]$/.test(cmdline(p)));
    assert.ok(await waitFor(() => sleeps().length === 2, WAIT_MS), `sleeps: ${sleeps()}`);
    for (const p of sleeps()) s.track(p);
    return { id, pid, sleeps: sleeps() };
  }

  it('ps --format json lists the host pids in the cgroup; the table has a PID header and those processes', async () => {
    const { id, pid, sleeps } = await twoSleeps(true);
    const listed = JSON.parse(s.ok(['ps', '--format', 'json', id]).stdout) as number[];
    assert.deepEqual([...listed].sort((a, b) => a - b), procsOf(dirOf(id, 'pids')));
    assert.deepEqual([...listed].sort((a, b) => a - b), [pid, ...sleeps].sort((a, b) => a - b));

    const table = nonEmptyLines(s.ok(['ps', id]).stdout);
    const header = table[0].trim().split(/\s+/);
    const pidColumn = header.indexOf('PID');
    assert.ok(pidColumn >= 0, `header: ${table[0]}`);
    const rows = table.slice(1).map((l) => Number(l.trim().split(/\s+/)[pidColumn]));
    assert.deepEqual(rows.sort((a, b) => a - b), [pid, ...sleeps].sort((a, b) => a - b));
    assert.ok(table.some((l) => l.includes('sleep 1001')) && table.some((l) => l.includes('sleep 1002')), table.join('\n'));
    // extra arguments go to ps
    const custom = nonEmptyLines(s.ok(['ps', id, '-o', 'pid,comm']).stdout);
    assert.deepEqual(custom[0].trim().split(/\s+/), ['PID', 'COMMAND']);
    assert.equal(custom.length, 4, custom.join('\n'));
  });

  it('events --stats prints one stats object with cpu, memory and pids figures', async () => {
    const { id } = await twoSleeps(true);
    const r = s.ok(['events', '--stats', id]);
    const lines = nonEmptyLines(r.stdout);
    assert.equal(lines.length, 1, r.stdout);
    const ev = JSON.parse(lines[0]);
    assert.equal(ev.type, 'stats');
    assert.equal(ev.id, id);
    assert.ok(ev.data.cpu.usage.total > 0, `cpu ${JSON.stringify(ev.data.cpu)}`);
    assert.ok(ev.data.memory.usage.usage > 0, `memory ${JSON.stringify(ev.data.memory.usage)}`);
    assert.equal(ev.data.pids.current, 3);
    assert.ok(ev.data.pids.current >= 1);
    const missing = s.exec(['events', '--stats', 'no-such-container']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /does not exist/);
  });

  it('kill --all reaches every process of a container without a pid namespace', async () => {
    const { id, pid, sleeps } = await twoSleeps(false);
    // Without a pid namespace, killing the init alone leaves the sleeps.
    s.ok(['kill', '--all', id, 'KILL']);
    assert.ok(await waitFor(() => [pid, ...sleeps].every((p) => !isAlive(p)), WAIT_MS), `alive: ${[pid, ...sleeps].filter(isAlive)}`);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped', WAIT_MS));
    s.ok(['delete', id]);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('kill without --all in a container without a pid namespace reaches only the init', async () => {
    const { id, pid, sleeps } = await twoSleeps(false);
    s.ok(['kill', id, 'KILL']);
    assert.ok(await waitFor(() => !isAlive(pid), WAIT_MS));
    assert.ok(sleeps.every(isAlive), 'kill without --all reached the sleeps');
    assert.equal(s.state(id).status, 'stopped');
    // delete takes the leftovers with it
    s.ok(['delete', id]);
    assert.ok(await waitFor(() => sleeps.every((p) => !isAlive(p)), WAIT_MS), 'delete left the sleeps running');
    assert.deepEqual(await cgroupLeftovers(id), []);
  });
});
