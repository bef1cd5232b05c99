// linux.resources enforced for real, on a cgroup v1 (or hybrid) host and on a
// unified (v2) one: memory (OOM kill and the oom event), pids (a fork bomb
// contained), cpu quota (a busy loop throttled) and device rules, each
// checked from inside the container and in the container's cgroup files (the
// v1 files on v1, the v2 files on v2).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Session, waitFor, sleep, nonEmptyLines, type Background } from '../helpers/session';
import {
  TEST_TIMEOUT_MS,
  WAIT_MS,
  attachedDevicePrograms,
  cgroupLeftovers,
  cpuNsOver,
  cpuQuota,
  cpuThrottling,
  dirOf,
  isCgroupV2,
  keyValues,
  memoryLimitFile,
  memoryPeak,
  oomKills,
  procsOf,
  readCg,
  readCgNumber,
  stopAll,
} from './cgroups-common';

const MiB = 1024 * 1024;

describe('cgroups: resource limits', function () {
  this.timeout(TEST_TIMEOUT_MS);
  let s: Session;
  let background: Background[];
  beforeEach(() => {
    s = new Session();
    background = [];
  });
  afterEach(async () => {
    // Before the session removes the files their output goes to.
    await stopAll(background);
    s.cleanup();
  });

  it('memory: a process allocating past the limit is OOM-killed; events streams an oom event', async () => {
    // `tail` of /dev/zero never sees a newline, so it keeps the whole input in memory.
    const bundle = s.bundle(['sh', '-c', 'sleep 0.5; tail /dev/zero; echo "tail-exit=$?"; sleep 2'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 16 * MiB, swap: 16 * MiB } };
    });
    const id = s.id('cgmem');
    const { out } = s.create(id, bundle);
    assert.equal(readCgNumber(id, 'memory', memoryLimitFile()), 16 * MiB);
    // memory+swap 16 MiB over a 16 MiB limit: no swap (v2 takes the swap alone).
    if (isCgroupV2()) assert.equal(readCg(id, 'memory', 'memory.swap.max'), '0');
    else assert.equal(readCgNumber(id, 'memory', 'memory.memsw.limit_in_bytes'), 16 * MiB);
    const killsBefore = oomKills(id);

    const events = s.spawn(['events', '--interval', '200ms', id]);
    background.push(events);
    assert.ok(await waitFor(() => events.stdout().includes('"type":"stats"'), WAIT_MS), `events printed no stats: ${events.stdout()}`);
    s.ok(['start', id]);

    const stdout = (): string => readFileSync(out.stdoutPath, 'utf8');
    assert.ok(await waitFor(() => /tail-exit=/.test(stdout()), WAIT_MS), `tail never ended: ${stdout()}`);
    assert.match(stdout(), /tail-exit=137/, 'tail was not killed by SIGKILL');
    assert.ok(await waitFor(() => /"type":"oom"/.test(events.stdout()), WAIT_MS), `no oom event in ${events.stdout()}`);
    const oomLine = nonEmptyLines(events.stdout()).find((l) => l.includes('"type":"oom"'))!;
    assert.equal(JSON.parse(oomLine).id, id);
    const killsAfter = oomKills(id);
    assert.ok(killsAfter > killsBefore, `oom_kill ${killsBefore} -> ${killsAfter}`);
    const peak = memoryPeak(id);
    // Every kernel with cgroup v1 has the v1 file; memory.peak came in Linux 5.19.
    if (peak !== undefined || !isCgroupV2()) assert.ok(peak !== undefined && peak > 12 * MiB && peak <= 16 * MiB, `memory peak ${peak}`);

    // The stream ends by itself once the container has stopped.
    const ended = await Promise.race([events.done, sleep(WAIT_MS).then(() => null)]);
    assert.ok(ended, 'events kept running after the container stopped');
    assert.equal(ended.status, 0, ended.stderr);
    s.ok(['delete', id]);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('pids: a fork bomb is held at pids.max and forks fail inside; delete --force ends it', async () => {
    // The bomb runs in a subshell: in ash a failed fork ends the shell that
    // tried, so the init (pid 1) must not fork once it is under way. The init
    // then waits on a fifo nobody opens; SIGCHLD interrupts the open, hence the loop.
    const script = 'mkfifo /tmp/hold; (bomb() { bomb | bomb & }; bomb) & while :; do read x < /tmp/hold; done 2>/dev/null';
    const bundle = s.bundle(['sh', '-c', script], (spec) => {
      spec.root!.readonly = false;
      spec.linux!.resources = { ...spec.linux!.resources, pids: { limit: 20 } };
    });
    const id = s.id('cgpids');
    const { out } = s.create(id, bundle);
    assert.equal(readCg(id, 'pids', 'pids.max'), '20');
    s.ok(['start', id]);

    // The processes in the cgroup, sampled while it runs (at least 2 s, and
    // until the bomb has hit the limit and a fork was refused), plus the
    // kernel's own high-water mark where it keeps one. (Failed forks end bomb
    // shells, so the count swings: sampling alone can miss the top.) A set,
    // because v1's cgroup.procs may list a process twice. Not pids.current:
    // a fork the limit refuses is counted there for an instant before it is
    // taken back, so a sample can read pids.max + 1.
    let highest = 0;
    const pidsDir = dirOf(id, 'pids');
    const hasPeak = existsSync(`${pidsDir}/pids.peak`);
    const refusedForks = (): number => keyValues(readCg(id, 'pids', 'pids.events')).max ?? 0;
    const started = Date.now();
    const filled = await waitFor(
      () => {
        highest = Math.max(highest, new Set(procsOf(pidsDir)).size, hasPeak ? readCgNumber(id, 'pids', 'pids.peak') : 0);
        return Date.now() - started > 2000 && highest >= 15 && refusedForks() > 0;
      },
      WAIT_MS,
      5,
    );
    const stderr = readFileSync(out.stderrPath, 'utf8');
    assert.ok(highest <= 20, `the cgroup held ${highest} processes`);
    assert.ok(filled && highest >= 15, `the bomb never filled the limit (highest ${highest}, refused forks ${refusedForks()})`);
    assert.equal(s.state(id).status, 'running', 'the init did not survive the bomb');
    assert.match(stderr, /can't fork|Resource temporarily unavailable/, `no failed fork reported: ${stderr.slice(0, 500)}`);

    const del = s.exec(['delete', '--force', id], { timeoutMs: WAIT_MS });
    assert.equal(del.status, 0, del.stderr);
    assert.deepEqual(await cgroupLeftovers(id), []);
    // The host still forks fine.
    assert.equal(spawnSync('true').status, 0);
  });

  it('cpu: quota/period land in the cgroup; a busy loop stays within its quota and is throttled', async () => {
    const busy = ['sh', '-c', 'while :; do :; done'];
    const quota = { quota: 20000, period: 100000 };
    const limited = s.bundle(busy, (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, cpu: quota };
    });
    const free = s.bundle(busy);
    const lid = s.id('cgcpu');
    const fid = s.id('cgcpu');
    s.create(lid, limited);
    s.create(fid, free);
    assert.deepEqual(cpuQuota(lid), quota);
    assert.equal(cpuQuota(fid).quota, -1);
    s.ok(['start', lid]);
    s.ok(['start', fid]);
    const before = cpuThrottling(lid);
    assert.ok(before.periods !== undefined && before.ns !== undefined, `no throttling figures in cpu.stat: ${readCg(lid, 'cpu', 'cpu.stat')}`);

    // However loaded the machine, the limited loop gets no more than its quota
    // in each period: over the window at most quota/period of the wall time,
    // with a margin for the periods cut by the window's ends. (How much the
    // unlimited loop gets depends on the load, so it bounds nothing.)
    const [l, f] = await Promise.all([cpuNsOver(lid, 3000), cpuNsOver(fid, 3000)]);
    const share = quota.quota / quota.period;
    const bound = l.wallNs * share * 1.25 + 2 * quota.quota * 1000;
    const ms = (ns: number): string => (ns / 1e6).toFixed(0);
    assert.ok(l.ns <= bound, `the limited loop used ${ms(l.ns)} ms of CPU in ${ms(l.wallNs)} ms (quota bound ${ms(bound)} ms)`);
    assert.ok(l.ns > 0 && f.ns > 0, `a loop never ran: limited ${l.ns} ns, unlimited ${f.ns} ns`);

    // A busy loop over its quota is throttled: periods and time grow. On a
    // loaded machine a period with the whole quota used may take a while.
    const throttledMore = (): boolean => {
      const now = cpuThrottling(lid);
      return (now.periods ?? 0) > (before.periods ?? 0) && (now.ns ?? 0) > (before.ns ?? 0);
    };
    assert.ok(await waitFor(throttledMore, WAIT_MS), `never throttled: ${readCg(lid, 'cpu', 'cpu.stat')}`);
    // Without a quota nothing throttles, whatever the load.
    assert.equal(cpuThrottling(fid).periods, 0, readCg(fid, 'cpu', 'cpu.stat'));

    s.ok(['delete', '--force', lid]);
    s.ok(['delete', '--force', fid]);
    assert.deepEqual(await cgroupLeftovers(lid), []);
    assert.deepEqual(await cgroupLeftovers(fid), []);
  });

  const DEVICE_PROBE = [
    'sh',
    '-c',
    '{ echo x > /dev/null && echo null-write=ok; } 2>&1; echo zero-bytes=$(head -c 5 /dev/zero | wc -c); cat /dev/null && echo null-read=ok',
  ];
  const DENY_NULL_WRITE = { allow: false, type: 'c', major: 1, minor: 3, access: 'w' } as const;

  /** DEVICE_PROBE's output with writes to /dev/null denied. */
  function assertNullUnwritable(stdout: string): void {
    assert.match(stdout, /can't create \/dev\/null: Operation not permitted/);
    assert.doesNotMatch(stdout, /null-write=ok/);
    assert.match(stdout, /zero-bytes=5/);
    assert.match(stdout, /null-read=ok/);
  }

  it('devices: denying writes to c 1:3 makes /dev/null unwritable; /dev/zero still reads', () => {
    const bundle = s.bundle(DEVICE_PROBE, (spec) => {
      spec.linux!.resources!.devices = [...(spec.linux!.resources!.devices ?? []), DENY_NULL_WRITE];
    });
    const id = s.id('cgdev');
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 0, r.stderr);
    assertNullUnwritable(r.stdout);
  });

  it('devices: without such a rule /dev/null takes writes', async () => {
    const bundle = s.bundle(DEVICE_PROBE);
    const id = s.id('cgdev');
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /null-write=ok/);
    assert.match(r.stdout, /zero-bytes=5/);
    assert.deepEqual(await cgroupLeftovers(id), []);
  });

  it('devices: a live container holds the rules (devices.list on v1, one attached program on v2); exec obeys them', () => {
    const bundle = s.bundle(['sleep', '1000'], (spec) => {
      spec.linux!.resources!.devices = [...(spec.linux!.resources!.devices ?? []), DENY_NULL_WRITE];
    });
    const id = s.id('cgdev');
    s.create(id, bundle);
    s.ok(['start', id]);
    if (isCgroupV2()) {
      const programs = attachedDevicePrograms(dirOf(id, 'devices'));
      assert.equal(programs.length, 1, `device programs attached: ${programs}`);
    } else {
      const list = readCg(id, 'devices', 'devices.list').split('\n');
      assert.ok(!list.includes('a *:* rwm'), `everything allowed: ${list}`);
      assert.ok(list.includes('c 1:3 rm'), `no read-only /dev/null entry: ${list}`);
      assert.ok(list.includes('c 1:5 rwm'), `no /dev/zero entry: ${list}`);
    }
    assertNullUnwritable(s.ok(['exec', id, ...DEVICE_PROBE]).stdout);
  });
});
