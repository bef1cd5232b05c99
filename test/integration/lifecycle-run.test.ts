// `tsrun run`: exit codes, signal forwarding, --detach, stdio pass-through.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Session, waitFor, isAlive, nonEmptyLines } from '../helpers/session';
import type { Spec } from '../../src/spec/types';

function withoutPidNamespace(spec: Spec): void {
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'pid');
}

describe('lifecycle: run', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  it('exits with the container process exit code and deletes the container', () => {
    const bundle = s.bundle(['sh', '-c', 'exit 3']);
    const id = s.id();
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  it('exits 0 for a process that succeeds', () => {
    const bundle = s.bundle(['true']);
    const r = s.exec(['run', '--bundle', bundle.dir, s.id()]);
    assert.equal(r.status, 0, r.stderr);
  });

  it('passes the container stdout and stderr through', () => {
    const bundle = s.bundle(['sh', '-c', 'echo to-stdout; echo to-stderr >&2']);
    const r = s.exec(['run', '--bundle', bundle.dir, s.id()]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'to-stdout\n');
    assert.equal(r.stderr, 'to-stderr\n');
  });

  it('exits 128+N when signal N kills the init (killed from outside)', async () => {
    const bundle = s.bundle(['sh', '-c', 'echo ready; sleep 100 & wait']);
    const id = s.id();
    const run = s.spawn(['run', '--bundle', bundle.dir, id]);
    assert.ok(await waitFor(() => run.stdout().includes('ready')), 'never ready');
    s.ok(['kill', id, 'KILL']);
    const r = await run.done;
    assert.equal(r.status, 137, r.stderr);
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  it('exits 128+N when the process kills itself (no pid namespace)', () => {
    const bundle = s.bundle(['sh', '-c', 'kill -TERM $$; sleep 5'], withoutPidNamespace);
    const id = s.id();
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 143, r.stderr);
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`forwards ${signal} sent to tsrun to the container`, async () => {
      const name = signal.slice(3);
      const bundle = s.bundle(['sh', '-c', `trap "echo got-${name}; exit 7" ${name}; echo ready; sleep 100 & wait`]);
      const id = s.id();
      const run = s.spawn(['run', '--bundle', bundle.dir, id]);
      assert.ok(await waitFor(() => run.stdout().includes('ready')), 'never ready');
      run.child.kill(signal);
      const r = await run.done;
      assert.equal(r.status, 7, `exit ${r.status ?? r.signal}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`got-${name}`));
      assert.deepEqual(s.leftovers(bundle, id), []);
    });

    it(`${signal} forwarded to a container without a handler: exit ${code}`, async () => {
      const bundle = s.bundle(['sh', '-c', 'echo ready; exec sleep 100'], withoutPidNamespace);
      const id = s.id();
      const run = s.spawn(['run', '--bundle', bundle.dir, id]);
      assert.ok(await waitFor(() => run.stdout().includes('ready')), 'never ready');
      // `exec sleep` replaces the shell: wait until it has.
      assert.ok(await waitFor(() => s.exec(['state', id]).status === 0));
      const pid = s.state(id).pid;
      assert.ok(await waitFor(() => readComm(pid).trim() === 'sleep'));
      run.child.kill(signal);
      const r = await run.done;
      assert.equal(r.status, code, `exit ${r.status ?? r.signal}: ${r.stderr}`);
      assert.deepEqual(s.leftovers(bundle, id), []);
    });
  }

  it('a signal that reaches tsrun while it creates the container is forwarded once it runs', async () => {
    const bundle = s.bundle(['sleep', '30'], withoutPidNamespace);
    const id = s.id();
    const run = s.spawn(['run', '--bundle', bundle.dir, id]);
    // The id's lock or state dir appears once create is under way.
    const creating = (): boolean => s.rootEntries().some((e) => e === id || e === `${id}.lock`);
    assert.ok(await waitFor(creating, 10000, 1), 'create never began');
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.status, 143, `exit ${r.status ?? r.signal}: ${r.stderr}`);
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  it('--detach returns while the container keeps running', async () => {
    const bundle = s.bundle(['sleep', '100']);
    const id = s.id();
    const t0 = Date.now();
    const r = s.exec(['run', '--detach', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Date.now() - t0 < 10000);
    const state = s.state(id);
    s.track(state.pid);
    assert.equal(state.status, 'running');
    assert.ok(isAlive(state.pid));
    s.ok(['delete', '--force', id]);
    assert.ok(!isAlive(state.pid));
  });

  it('run of a taken id fails and leaves the existing container alone', () => {
    const bundle = s.bundle(['sleep', '100']);
    const id = s.id();
    const { pid } = s.create(id, bundle);
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 1);
    assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /exists/);
    assert.ok(isAlive(pid));
    assert.equal(s.state(id).status, 'created');
  });
});

function readComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8');
  } catch {
    return '';
  }
}
