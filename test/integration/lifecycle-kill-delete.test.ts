// kill and delete through the built bin/tsrun on real busybox containers.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Session, waitFor, isAlive, nonEmptyLines, processesInPidNamespaceOf, cmdline } from '../helpers/session';

// Reports each trapped signal on stdout. The shell is pid 1 of its pid
// namespace, so only signals it has a handler for reach it.
const TRAPPER = [
  'sh',
  '-c',
  'for s in TERM INT HUP USR1 USR2; do trap "echo got-$s" $s; done; echo ready; while :; do sleep 1000 & wait; done',
];

describe('lifecycle: kill', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  async function trapper(): Promise<{ id: string; stdoutPath: string; pid: number }> {
    const bundle = s.bundle(TRAPPER);
    const id = s.id();
    const { pid, out } = s.create(id, bundle);
    s.ok(['start', id]);
    const ready = await waitFor(() => s.exec(['state', id]).status === 0 && readOut(out.stdoutPath).includes('ready'));
    assert.ok(ready, 'the container never said ready');
    return { id, stdoutPath: out.stdoutPath, pid };
  }

  function readOut(path: string): string {
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  it('sends SIGTERM by default, and signals by name with and without SIG, and by number', async () => {
    const { id, stdoutPath } = await trapper();
    const cases: [string[], string][] = [
      [[], 'got-TERM'],
      [['HUP'], 'got-HUP'],
      [['SIGUSR1'], 'got-USR1'],
      [['12'], 'got-USR2'],
      [['int'], 'got-INT'],
    ];
    for (const [sig, expected] of cases) {
      s.ok(['kill', id, ...sig]);
      assert.ok(await waitFor(() => readOut(stdoutPath).includes(expected)), `kill ${sig.join(' ') || '(default)'}: no ${expected} in ${readOut(stdoutPath)}`);
    }
    assert.equal(s.state(id).status, 'running');
    s.ok(['kill', id, 'KILL']);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped'));
  });

  it('signal 0 checks the container without harming it', async () => {
    const { id } = await trapper();
    s.ok(['kill', id, '0']);
    assert.equal(s.state(id).status, 'running');
  });

  it('an unknown signal is a clear error', async () => {
    const { id } = await trapper();
    for (const bad of ['NOPE', 'SIGFOO', '99']) {
      const r = s.exec(['kill', id, bad]);
      assert.equal(r.status, 1, `kill ${bad}`);
      assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /signal/i, r.stderr);
    }
    assert.equal(s.state(id).status, 'running');
  });

  it('kill of a created container kills it (default SIGTERM)', async () => {
    const bundle = s.bundle(['true']);
    const id = s.id();
    const { pid } = s.create(id, bundle);
    s.ok(['kill', id]);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped'), `still ${s.state(id).status} after SIGTERM`);
    assert.ok(!isAlive(pid));
    s.ok(['delete', id]);
    assert.deepEqual(s.rootEntries(), []);
  });

  it('kill of a stopped container: exit 1, container not running; --all: exit 0', async () => {
    const bundle = s.bundle(['true']);
    const id = s.id();
    s.create(id, bundle);
    s.ok(['start', id]);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped'));
    const r = s.exec(['kill', id, 'TERM']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /container not running/);
    assert.equal(nonEmptyLines(r.stderr).length, 1);
    s.ok(['kill', '--all', id, 'KILL']);
    const missing = s.exec(['kill', 'no-such-container']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /does not exist/);
  });

  it('--all signals every process of the container', async () => {
    const bundle = s.bundle(['sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
    const id = s.id();
    const { pid } = s.create(id, bundle);
    s.ok(['start', id]);
    const sleeps = (): number[] => processesInPidNamespaceOf(pid).filter((p) => cmdline(p).startsWith('sleep'));
    assert.ok(await waitFor(() => sleeps().length === 2), `sleeps: ${sleeps()}`);
    const both = sleeps();
    // Without --all only the init (pid 1, no TERM handler) is signalled: nothing dies.
    s.ok(['kill', id, 'TERM']);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(both.every(isAlive), 'kill without --all reached the sleeps');
    s.ok(['kill', '--all', id, 'TERM']);
    assert.ok(await waitFor(() => both.every((p) => !isAlive(p))), 'the sleeps survived kill --all');
    assert.ok(await waitFor(() => s.state(id).status === 'stopped'), 'the shell did not finish its wait');
  });
});

describe('lifecycle: delete', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  it('refuses a running container without --force', () => {
    const bundle = s.bundle(['sleep', '100']);
    const id = s.id();
    const { pid } = s.create(id, bundle);
    s.ok(['start', id]);
    const r = s.exec(['delete', id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`cannot delete container ${id} that is not stopped: running`));
    assert.equal(nonEmptyLines(r.stderr).length, 1);
    assert.ok(isAlive(pid));
    assert.equal(s.state(id).status, 'running');
  });

  it('refuses a created container without --force', () => {
    const bundle = s.bundle(['true']);
    const id = s.id();
    s.create(id, bundle);
    const r = s.exec(['delete', id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /that is not stopped: created/);
  });

  it('--force kills a running container and leaves nothing', () => {
    const bundle = s.bundle(['sh', '-c', 'sleep 1000 & sleep 1000']);
    const id = s.id();
    const { pid } = s.create(id, bundle);
    s.ok(['start', id]);
    const members = processesInPidNamespaceOf(pid);
    assert.ok(members.length >= 1);
    s.ok(['delete', '--force', id]);
    assert.equal(existsSync(s.stateDir(id)), false, 'state dir left');
    assert.ok(members.every((p) => !isAlive(p)), 'a container process survived');
    assert.deepEqual(s.leftovers(bundle, id), []);
    assert.match(s.exec(['state', id]).stderr, /does not exist/);
  });

  it('--force of a created container kills the waiting init', () => {
    const bundle = s.bundle(['true']);
    const id = s.id();
    const { pid } = s.create(id, bundle);
    s.ok(['delete', '-f', id]);
    assert.ok(!isAlive(pid));
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  it('--force of a missing id exits 0; without it exits 1, does not exist', () => {
    const forced = s.exec(['delete', '--force', 'no-such-container']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(forced.stderr, '');
    const plain = s.exec(['delete', 'no-such-container']);
    assert.equal(plain.status, 1);
    assert.match(plain.stderr, /container "no-such-container" does not exist/);
    assert.equal(nonEmptyLines(plain.stderr).length, 1);
    assert.deepEqual(s.rootEntries(), []);
  });

  it('delete of a stopped container removes its state dir', async () => {
    const bundle = s.bundle(['true']);
    const id = s.id();
    s.create(id, bundle);
    s.ok(['start', id]);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped'));
    assert.ok(existsSync(s.stateDir(id)));
    s.ok(['delete', id]);
    assert.equal(existsSync(s.stateDir(id)), false);
    assert.deepEqual(s.leftovers(bundle, id), []);
    // the id can be used again
    s.create(id, bundle);
    assert.equal(s.state(id).status, 'created');
  });
});
