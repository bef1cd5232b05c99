// create / start / state through the built bin/tsrun on real busybox containers.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session, waitFor, procStatus, cmdline, isAlive, nonEmptyLines } from '../helpers/session';

describe('lifecycle: create, start, state', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  it('create leaves the init blocked: created, pid file, no tsrun parent, program not run yet', async () => {
    const bundle = s.bundle(['sh', '-c', 'touch /tmp/started'], (spec) => {
      spec.root!.readonly = false;
    });
    const id = s.id();
    const pidFile = join(bundle.dir, 'init.pid');
    const { pid } = s.create(id, bundle, ['--pid-file', pidFile]);

    const state = s.state(id);
    assert.equal(state.status, 'created');
    assert.ok(pid > 0, `pid ${pid}`);
    const pidText = readFileSync(pidFile, 'utf8');
    assert.match(pidText, /^\d+$/, `pid file holds ${JSON.stringify(pidText)}`);
    assert.equal(Number(pidText), pid);
    assert.ok(isAlive(pid), 'the init is alive');

    const ppid = Number(procStatus(pid, 'PPid'));
    const parent = cmdline(ppid);
    assert.ok(!parent.includes('tsrun') && !parent.includes('cli/main.js'), `init's parent ${ppid} is a tsrun process: ${parent}`);

    const marker = join(bundle.rootfs, 'tmp', 'started');
    assert.equal(existsSync(marker), false, 'the program ran before start');
    s.ok(['start', id]);
    assert.ok(await waitFor(() => existsSync(marker)), 'the program did not run after start');
  });

  it('the waiting init gives back node\'s program text until start (idle memory), and still starts', async () => {
    const bundle = s.bundle(['sh', '-c', 'touch /tmp/started'], (spec) => {
      spec.root!.readonly = false;
    });
    const id = s.id();
    const { pid } = s.create(id, bundle);
    // The init gives its memory back just before it blocks opening the fifo.
    assert.ok(await waitFor(() => readFileSync(`/proc/${pid}/wchan`, 'utf8') === 'wait_for_partner'), 'the init never blocked on its fifo');
    // The resident part of each executable mapping of node: a fresh fork keeps
    // the creating process's (~12 MiB); after the drop only what the last
    // steps touched comes back.
    const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n');
    let nodeTextKb = 0;
    for (let i = 0; i < smaps.length; i++) {
      if (!/ r-xp .*\/node$/.test(smaps[i])) continue;
      const rss = smaps.slice(i + 1, i + 8).find((l) => l.startsWith('Rss:'));
      nodeTextKb += Number(/(\d+)/.exec(rss ?? '')?.[1] ?? 0);
    }
    assert.ok(nodeTextKb < 6 * 1024, `the waiting init holds ${nodeTextKb} kB of node's text`);
    const marker = join(bundle.rootfs, 'tmp', 'started');
    s.ok(['start', id]);
    assert.ok(await waitFor(() => existsSync(marker)), 'the program did not run after start');
  });

  it('start returns at once; the status goes created -> running -> stopped', async () => {
    const bundle = s.bundle(['sleep', '1']);
    const id = s.id();
    s.create(id, bundle);
    assert.equal(s.state(id).status, 'created');
    const t0 = Date.now();
    s.ok(['start', id]);
    assert.ok(Date.now() - t0 < 900, `start took ${Date.now() - t0} ms: it waited for the process`);
    const running = s.state(id);
    assert.equal(running.status, 'running');
    assert.ok(running.pid > 0);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped', 5000, 50), 'never stopped');
    assert.equal(s.state(id).pid, 0, 'a stopped container reports pid 0');
    s.ok(['delete', id]);
  });

  it('start of a started or stopped container fails', async () => {
    const bundle = s.bundle(['sh', '-c', 'sleep 0.5']);
    const id = s.id();
    s.create(id, bundle);
    s.ok(['start', id]);
    const again = s.exec(['start', id]);
    assert.equal(again.status, 1);
    assert.equal(nonEmptyLines(again.stderr).length, 1, again.stderr);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped', 5000, 50));
    const stopped = s.exec(['start', id]);
    assert.equal(stopped.status, 1);
    assert.match(stopped.stderr, /stopped/);
  });

  it('state JSON: ociVersion, id, status, pid, bundle, rootfs, created, annotations', () => {
    const bundle = s.bundle(['sleep', '10'], (spec) => {
      spec.annotations = { 'org.example.key': 'value', 'other': 'x y' };
    });
    const id = s.id();
    const before = Date.now();
    const { pid } = s.create(id, bundle);
    const state = s.state(id);
    assert.equal(state.ociVersion, '1.3.0');
    assert.equal(state.id, id);
    assert.equal(state.status, 'created');
    assert.equal(state.pid, pid);
    assert.equal(state.bundle, bundle.dir);
    assert.equal(state.rootfs, bundle.rootfs);
    assert.equal(typeof state.created, 'string');
    const created = Date.parse(state.created as string);
    assert.ok(created >= before - 1000 && created <= Date.now() + 1000, `created ${state.created}`);
    assert.deepEqual(state.annotations, { 'org.example.key': 'value', 'other': 'x y' });
  });

  it('state without annotations configured has none', () => {
    const bundle = s.bundle(['true']);
    const id = s.id();
    s.create(id, bundle);
    assert.equal('annotations' in s.state(id), false);
  });

  it('state of a missing id: exit 1, does not exist', () => {
    const r = s.exec(['state', 'no-such-container']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /container "no-such-container" does not exist/);
    assert.equal(nonEmptyLines(r.stderr).length, 1);
    assert.equal(r.stdout, '');
  });

  it('state tells a reused pid by its start time', () => {
    const bundle = s.bundle(['sleep', '100']);
    const id = s.id();
    const { pid } = s.create(id, bundle);
    s.ok(['start', id]);
    assert.equal(s.state(id).status, 'running');
    const file = join(s.stateDir(id), 'state.json');
    const original = readFileSync(file, 'utf8');
    const record = JSON.parse(original) as { initStartTime: number };
    assert.equal(typeof record.initStartTime, 'number');
    writeFileSync(file, JSON.stringify({ ...record, initStartTime: record.initStartTime + 12345 }));
    try {
      assert.ok(isAlive(pid));
      const state = s.state(id);
      assert.equal(state.status, 'stopped', 'a live pid with another start time is not the container');
      // and kill must not signal the stranger
      const k = s.exec(['kill', id, 'KILL']);
      assert.equal(k.status, 1);
      assert.match(k.stderr, /container not running/);
      assert.ok(isAlive(pid), 'kill signalled a process that only reuses the pid');
    } finally {
      writeFileSync(file, original);
    }
    assert.equal(s.state(id).status, 'running');
  });
});
