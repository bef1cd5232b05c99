// Many tsrun processes at once: different ids run in parallel, commands on
// one id are serialised by its lock and never leave a half-made container.
import assert from 'node:assert/strict';
import { Session, isAlive, nonEmptyLines } from '../helpers/session';
import { liveProcessesMentioning } from '../helpers/harness';

describe('lifecycle: concurrency', function () {
  this.timeout(120000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  it('20 containers created, started and deleted concurrently', async () => {
    const bundle = s.bundle(['sleep', '1000']);
    const ids = Array.from({ length: 20 }, () => s.id('par'));

    const created = await Promise.all(ids.map((id) => s.spawn(['create', '--bundle', bundle.dir, id]).done));
    created.forEach((r, i) => assert.equal(r.status, 0, `create ${ids[i]}: ${r.stderr}`));
    const states = ids.map((id) => s.state(id));
    const pids = states.map((st) => st.pid);
    pids.forEach((pid) => s.track(pid));
    states.forEach((st, i) => assert.ok(st.status === 'created' && st.pid > 0, `create ${ids[i]} exited 0 but the container is ${st.status}, pid ${st.pid}`));
    assert.equal(new Set(pids).size, 20, 'pids not distinct');
    assert.deepEqual(nonEmptyLines(s.ok(['list', '-q']).stdout), [...ids].sort());

    const started = await Promise.all(ids.map((id) => s.spawn(['start', id]).done));
    started.forEach((r, i) => assert.equal(r.status, 0, `start ${ids[i]}: ${r.stderr}`));
    for (const id of ids) assert.equal(s.state(id).status, 'running', id);

    const deleted = await Promise.all(ids.map((id) => s.spawn(['delete', '--force', id]).done));
    deleted.forEach((r, i) => assert.equal(r.status, 0, `delete ${ids[i]}: ${r.stderr}`));
    for (const r of [...created, ...started, ...deleted]) assert.equal(r.stderr, '');
    assert.deepEqual(pids.filter(isAlive), [], 'container processes left');
    assert.deepEqual(s.leftovers(bundle, ...ids), []);
  });

  it('concurrent create and delete --force of one id stay consistent', async () => {
    const bundle = s.bundle(['sleep', '1000']);
    const id = s.id('race');
    for (let round = 0; round < 3; round++) {
      const jobs = [];
      for (let i = 0; i < 5; i++) {
        jobs.push(s.spawn(['create', '--bundle', bundle.dir, id]).done.then((r) => ({ verb: 'create', r })));
        jobs.push(s.spawn(['delete', '--force', id]).done.then((r) => ({ verb: 'delete', r })));
      }
      const results = await Promise.all(jobs);
      for (const { verb, r } of results) {
        if (verb === 'delete') assert.equal(r.status, 0, `delete: ${r.stderr}`);
        else if (r.status !== 0) assert.match(r.stderr, /exists/, `create failed otherwise: ${r.stderr}`);
        assert.ok(nonEmptyLines(r.stderr).length <= 1, r.stderr);
      }
      assert.ok(results.some(({ verb, r }) => verb === 'create' && r.status === 0), 'no create succeeded');
      const state = s.exec(['state', id]);
      // The waiting inits still run node with tsrun's command line, which names the root.
      const inits = liveProcessesMentioning(s.root);
      if (state.status === 0) {
        const st = JSON.parse(state.stdout) as { status: string; pid: number };
        s.track(st.pid);
        assert.equal(st.status, 'created');
        assert.ok(isAlive(st.pid));
        assert.deepEqual(inits, [st.pid], 'an init of a deleted container survived');
        assert.deepEqual(s.rootEntries(), [id]);
      } else {
        assert.match(state.stderr, /does not exist/);
        assert.deepEqual(inits, [], 'an init of a deleted container survived');
        assert.deepEqual(s.rootEntries(), []);
      }
      s.ok(['delete', '--force', id]);
      assert.deepEqual(s.leftovers(bundle, id), []);
    }
  });

  it('concurrent starts of one container: exactly one succeeds', async () => {
    const bundle = s.bundle(['sleep', '1000']);
    const id = s.id('start');
    s.create(id, bundle);
    const results = await Promise.all(Array.from({ length: 5 }, () => s.spawn(['start', id]).done));
    assert.equal(results.filter((r) => r.status === 0).length, 1, results.map((r) => r.stderr).join(''));
    for (const r of results.filter((x) => x.status !== 0)) assert.match(r.stderr, /running/);
    assert.equal(s.state(id).status, 'running');
  });
});
