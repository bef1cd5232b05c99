// linux.resources enforced for real on this cgroup v1 host: memory (OOM kill
// and the oom event), pids (a fork bomb contained), cpu quota (a busy loop
// throttled) and device rules, each checked from inside the container and in
// the container's cgroup files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Session, waitFor, sleep, nonEmptyLines, type Background } from '../helpers/session';
import { cgroupLeftovers, cpuNsOver, keyValues, readCg, readCgNumber, stopAll, dirOf } from './cgroups-common';

const MiB = 1024 * 1024;

describe('cgroups: resource limits', function () {
  this.timeout(120000);
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
    assert.equal(readCgNumber(id, 'memory', 'memory.limit_in_bytes'), 16 * MiB);
    assert.equal(readCgNumber(id, 'memory', 'memory.memsw.limit_in_bytes'), 16 * MiB);
    const killsBefore = keyValues(readCg(id, 'memory', 'memory.oom_control')).oom_kill ?? 0;

    const events = s.spawn(['events', '--interval', '200ms', id]);
    background.push(events);
    assert.ok(await waitFor(() => events.stdout().includes('"type":"stats"'), 10000), `events printed no stats: ${events.stdout()}`);
    s.ok(['start', id]);

    const stdout = (): string => readFileSync(out.stdoutPath, 'utf8');
    assert.ok(await waitFor(() => /tail-exit=/.test(stdout()), 30000), `tail never ended: ${stdout()}`);
    assert.match(stdout(), /tail-exit=137/, 'tail was not killed by SIGKILL');
    assert.ok(await waitFor(() => /"type":"oom"/.test(events.stdout()), 5000), `no oom event in ${events.stdout()}`);
    const oomLine = nonEmptyLines(events.stdout()).find((l) => l.includes('"type":"oom"'))!;
    assert.equal(JSON.parse(oomLine).id, id);
    const killsAfter = keyValues(readCg(id, 'memory', 'memory.oom_control')).oom_kill ?? 0;
    assert.ok(killsAfter > killsBefore, `oom_kill ${killsBefore} -> ${killsAfter}`);
    const peak = readCgNumber(id, 'memory', 'memory.max_usage_in_bytes');
    assert.ok(peak > 12 * MiB && peak <= 16 * MiB, `memory.max_usage_in_bytes ${peak}`);

    // The stream ends by itself once the container has stopped.
    const ended = await Promise.race([events.done, sleep(15000).then(() => null)]);
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

    // Sampled while it runs, and the kernel's own high-water mark where it keeps one.
    let highest = 0;
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      highest = Math.max(highest, readCgNumber(id, 'pids', 'pids.current'));
      await sleep(5);
    }
    if (existsSync(`${dirOf(id, 'pids')}/pids.peak`)) highest = Math.max(highest, readCgNumber(id, 'pids', 'pids.peak'));
    const stderr = readFileSync(out.stderrPath, 'utf8');
    assert.ok(highest <= 20, `pids.current reached ${highest}`);
    assert.ok(highest >= 15, `the bomb never filled the limit (highest ${highest})`);
    assert.equal(s.state(id).status, 'running', 'the init did not survive the bomb');
    assert.match(stderr, /can't fork|Resource temporarily unavailable/, `no failed fork reported: ${stderr.slice(0, 500)}`);
    assert.ok(keyValues(readCg(id, 'pids', 'pids.events')).max > 0, 'pids.events counts no refused fork');

    const del = s.exec(['delete', '--force', id], { timeoutMs: 60000 });
    assert.equal(del.status, 0, del.stderr);
    assert.deepEqual(await cgroupLeftovers(id), []);
    // The host still forks fine.
    assert.equal(spawnSync('true').status, 0);
  });

  it('cpu: quota/period land in cpu.cfs_* and hold a busy loop near 20% of a core', async () => {
    const busy = ['sh', '-c', 'while :; do :; done'];
    const limited = s.bundle(busy, (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, cpu: { quota: 20000, period: 100000 } };
    });
    const free = s.bundle(busy);
    const lid = s.id('cgcpu');
    const fid = s.id('cgcpu');
    s.create(lid, limited);
    s.create(fid, free);
    assert.equal(readCgNumber(lid, 'cpu', 'cpu.cfs_quota_us'), 20000);
    assert.equal(readCgNumber(lid, 'cpu', 'cpu.cfs_period_us'), 100000);
    assert.equal(readCgNumber(fid, 'cpu', 'cpu.cfs_quota_us'), -1);
    s.ok(['start', lid]);
    s.ok(['start', fid]);
    await sleep(300);

    const [l, f] = await Promise.all([cpuNsOver(lid, 1500), cpuNsOver(fid, 1500)]);
    const limitedShare = l.ns / l.wallNs;
    const freeShare = f.ns / f.wallNs;
    assert.ok(limitedShare < 0.4, `limited container used ${(limitedShare * 100).toFixed(1)}% of a core`);
    assert.ok(limitedShare > 0.05, `limited container barely ran (${(limitedShare * 100).toFixed(1)}%)`);
    assert.ok(freeShare > limitedShare + 0.2, `unlimited ${(freeShare * 100).toFixed(1)}% vs limited ${(limitedShare * 100).toFixed(1)}%`);
    assert.ok(keyValues(readCg(lid, 'cpu', 'cpu.stat')).nr_throttled > 0, 'the limited container was never throttled');
    assert.equal(keyValues(readCg(fid, 'cpu', 'cpu.stat')).nr_throttled, 0);

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

  it('devices: denying writes to c 1:3 makes /dev/null unwritable; /dev/zero still reads', () => {
    const bundle = s.bundle(DEVICE_PROBE, (spec) => {
      spec.linux!.resources!.devices = [...(spec.linux!.resources!.devices ?? []), { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }];
    });
    const id = s.id('cgdev');
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /can't create \/dev\/null: Operation not permitted/);
    assert.doesNotMatch(r.stdout, /null-write=ok/);
    assert.match(r.stdout, /zero-bytes=5/);
    assert.match(r.stdout, /null-read=ok/);
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

  it('devices: the rules are in devices.list of a live container', () => {
    const bundle = s.bundle(['sleep', '100'], (spec) => {
      spec.linux!.resources!.devices = [...(spec.linux!.resources!.devices ?? []), { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }];
    });
    const id = s.id('cgdev');
    s.create(id, bundle);
    const list = readCg(id, 'devices', 'devices.list').split('\n');
    assert.ok(!list.includes('a *:* rwm'), `everything allowed: ${list}`);
    assert.ok(list.includes('c 1:3 rm'), `no read-only /dev/null entry: ${list}`);
    assert.ok(list.includes('c 1:5 rwm'), `no /dev/zero entry: ${list}`);
  });
});
