// A `create` SIGKILLed at any point of its work (issue 13): the kernel drops
// its lock, and `delete --force` cleans up what it left at once (no state
// dir, lock file, cgroup, mount or process), after which the id is usable
// again. The points are reached with the TSRUN_TEST_STOP_AT test hook
// (src/lifecycle/test-stop.ts): create stops itself there, the test kills it.
// The containers' cgroups are tsrun's default, tsrun/<id> under this test's
// own cgroup (cgroupDirsOf finds them).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session, waitFor, isAlive, cgroupDirsOf, type Output } from '../helpers/session';
import { liveProcessesMentioning, tempDir, TSRUN, type Bundle } from '../helpers/harness';
import { STOP_POINTS, type StopPoint } from '../../src/lifecycle/test-stop';

/** A bound the old 60 s stale lock breaks, loose enough for a loaded machine. */
const BOUND_MS = 15000;

interface KilledCreate {
  /** The init's pid from state.json, read while create was stopped (0 when there was none yet). */
  initPid: number;
  /** tsrun processes create had forked (stage 1, the init), seen while it was stopped. */
  forked: number[];
}

/** /proc/<pid>/stat state letter, or '' once the process is gone. */
function procState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}

function recordedPid(root: string, id: string): number {
  try {
    return (JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')) as { pid: number }).pid;
  } catch {
    return 0;
  }
}

describe('lifecycle: a killed create', function () {
  this.timeout(120000);
  let s: Session;
  let io: string;
  beforeEach(() => {
    s = new Session();
    io = tempDir('tsrun-killed-io-');
  });
  afterEach(() => {
    s.cleanup();
    rmSync(io, { recursive: true, force: true });
  });

  /**
   * Runs `create` until it stops itself at `point` and notes what it made.
   * stdio goes to files: the init inherits it.
   */
  async function createStoppedAt(point: StopPoint, id: string, bundle: Bundle): Promise<KilledCreate & { kill: () => Promise<void> }> {
    const errPath = join(io, `${id}.err`);
    const err = openSync(errPath, 'w');
    const child = spawn(TSRUN, ['--root', s.root, 'create', '--bundle', bundle.dir, id], {
      stdio: ['ignore', 'ignore', err],
      env: { ...process.env, TSRUN_TEST_STOP_AT: point },
    });
    closeSync(err);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const pid = child.pid as number;
    s.track(pid);
    const stopped = await waitFor(() => procState(pid) === 'T' || child.exitCode !== null, BOUND_MS, 5);
    assert.ok(stopped && procState(pid) === 'T', `create never stopped at ${point}: ${readFileSync(errPath, 'utf8')}`);
    const initPid = recordedPid(s.root, id);
    s.track(initPid);
    const forked = liveProcessesMentioning(s.root).filter((p) => p !== pid);
    forked.forEach((p) => s.track(p));
    const kill = async (): Promise<void> => {
      child.kill('SIGKILL');
      await exited;
    };
    return { initPid, forked, kill };
  }

  /** createStoppedAt, then SIGKILL, waiting until create is gone. */
  async function killCreateAt(point: StopPoint, id: string, bundle: Bundle): Promise<KilledCreate> {
    const { initPid, forked, kill } = await createStoppedAt(point, id, bundle);
    await kill();
    return { initPid, forked };
  }

  function forceDelete(id: string): Output {
    const r = s.exec(['delete', '--force', id], { timeoutMs: BOUND_MS });
    assert.equal(r.signal, null, `delete --force did not finish within ${BOUND_MS} ms (a lock left held?)`);
    assert.equal(r.status, 0, r.stderr);
    return r;
  }

  function assertNothingLeft(id: string, bundle: Bundle, killed: KilledCreate): void {
    assert.ok(!existsSync(join(s.root, id)), 'state dir left');
    assert.ok(!existsSync(join(s.root, `${id}.lock`)), 'lock file left');
    for (const pid of [killed.initPid, ...killed.forked]) assert.ok(pid === 0 || !isAlive(pid), `process ${pid} of the killed create is alive`);
    assert.deepEqual(s.leftovers(bundle, id), []);
  }

  function createStartDelete(id: string, bundle: Bundle): void {
    s.create(id, bundle);
    s.ok(['start', id]);
    assert.equal(s.state(id).status, 'running');
    s.ok(['delete', '--force', id]);
    assert.deepEqual(s.leftovers(bundle, id), []);
  }

  for (const point of STOP_POINTS) {
    it(`killed at "${point}": delete --force leaves nothing, and the id works again`, async () => {
      const bundle = s.bundle(['sleep', '1000']);
      const id = s.id('killed');
      const killed = await killCreateAt(point, id, bundle);
      if (['init-forked', 'init-ready', 'written'].includes(point)) assert.ok(killed.initPid > 0, `no init pid recorded at ${point}`);
      forceDelete(id);
      assertNothingLeft(id, bundle, killed);
      createStartDelete(id, bundle);
    });
  }

  it('state, list and ps answer at once while a create holds the lock', async () => {
    const bundle = s.bundle(['sleep', '1000']);
    const id = s.id('busy');
    const { initPid, kill } = await createStoppedAt('init-ready', id, bundle);
    try {
      // A verb that waited for the lock would wait as long as create is stopped.
      const state = s.exec(['state', id], { timeoutMs: BOUND_MS });
      assert.equal(state.status, 0, state.stderr);
      assert.equal((JSON.parse(state.stdout) as { status: string }).status, 'creating');
      const list = s.exec(['list', '--format', 'json'], { timeoutMs: BOUND_MS });
      assert.equal(list.status, 0, list.stderr);
      assert.deepEqual((JSON.parse(list.stdout) as Array<{ id: string }>).map((c) => c.id), [id]);
      const ps = s.exec(['ps', '--format', 'json', id], { timeoutMs: BOUND_MS });
      assert.equal(ps.status, 0, ps.stderr);
      assert.ok((JSON.parse(ps.stdout) as number[]).includes(initPid), `ps: ${ps.stdout}`);
    } finally {
      await kill();
    }
    forceDelete(id);
  });

  for (const point of ['locked', 'claimed', 'init-forked', 'init-ready', 'written'] as const) {
    it(`killed at "${point}" (inside the lock): start and kill answer at once`, async () => {
      const bundle = s.bundle(['sleep', '1000']);
      const id = s.id('answers');
      const killed = await killCreateAt(point, id, bundle);
      const start = s.exec(['start', id], { timeoutMs: BOUND_MS });
      assert.equal(start.signal, null, 'start hung');
      const kill = s.exec(['kill', id, 'KILL'], { timeoutMs: BOUND_MS });
      assert.equal(kill.signal, null, 'kill hung');
      if (killed.initPid === 0) {
        // Nothing was recorded: there is no container yet.
        assert.match(start.stderr, /does not exist/);
        assert.match(kill.stderr, /does not exist/);
      } else {
        // 'written' is a created container; before that, one still being
        // created, or (killed at 'init-forked' before the init was ready) a
        // stopped one: its init exits when it finds no runtime to report to.
        assert.ok(start.status === 0 || /still being created|has stopped/.test(start.stderr), `start: ${start.stderr}`);
        assert.ok(kill.status === 0 || /not running/.test(kill.stderr), `kill: ${kill.stderr}`);
        assert.ok(await waitFor(() => !isAlive(killed.initPid), BOUND_MS), 'kill left the init alive');
      }
      forceDelete(id);
      assertNothingLeft(id, bundle, killed);
    });
  }

  it('stage 1 exits on its own when create dies before letting it proceed', async () => {
    const bundle = s.bundle(['sleep', '1000']);
    const id = s.id('stage1');
    const killed = await killCreateAt('stage1-forked', id, bundle);
    assert.ok(killed.forked.length > 0, 'no stage 1 seen');
    assert.ok(await waitFor(() => killed.forked.every((p) => !isAlive(p)), BOUND_MS), `stage 1 still alive: ${killed.forked.filter(isAlive)}`);
    forceDelete(id);
    assertNothingLeft(id, bundle, killed);
  });

  it('an init waiting for the runtime (createRuntime hook) exits on its own when create dies', async () => {
    const bundle = s.bundle(['sleep', '1000'], (spec) => {
      spec.hooks = { createRuntime: [{ path: '/bin/true' }] };
    });
    const id = s.id('inithook');
    const killed = await killCreateAt('init-forked', id, bundle);
    assert.ok(killed.initPid > 0);
    assert.ok(await waitFor(() => [killed.initPid, ...killed.forked].every((p) => !isAlive(p)), BOUND_MS), 'the init (or stage 1) outlived its create');
    forceDelete(id);
    assertNothingLeft(id, bundle, killed);
  });

  it('without a cgroup, delete --force kills the init of a killed create by its recorded pid', async () => {
    const bundle = s.bundle(['sleep', '1000']);
    const id = s.id('nocg');
    const killed = await killCreateAt('init-ready', id, bundle);
    // As a rootless create that may make no cgroup records it: no cgroup field.
    const statePath = join(s.root, id, 'state.json');
    const record = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>;
    delete record.cgroup;
    writeFileSync(statePath, JSON.stringify(record));
    assert.ok(isAlive(killed.initPid));
    forceDelete(id);
    assert.ok(!isAlive(killed.initPid), 'the init survived delete --force');
    // The cgroup was made; its record was dropped by the test, so it is the test's to remove.
    for (const dir of cgroupDirsOf(id)) rmdirSync(dir);
    assertNothingLeft(id, bundle, killed);
  });

  it('start right after create does not wait, and no process holds the lock', () => {
    const bundle = s.bundle(['sleep', '1000']);
    const id = s.id('nowait');
    const { pid } = s.create(id, bundle);
    assert.ok(!existsSync(join(s.root, `${id}.lock`)), 'create left its lock file');
    assert.deepEqual(posixLocksOf(pid), [], 'the waiting init holds a lock');
    const fds = readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
    assert.deepEqual(fds.filter((f) => f.includes('.lock')), [], 'the waiting init holds a lock file descriptor');
    // Blocked on a held lock, start would run into the timeout (its 100 s wait).
    const r = s.exec(['start', id], { timeoutMs: BOUND_MS });
    assert.equal(r.signal, null, 'start waited');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(s.state(id).status, 'running');
  });
});

/** /proc/locks entries (POSIX record locks) owned by `pid`. */
function posixLocksOf(pid: number): string[] {
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .filter((l) => / POSIX /.test(l) && l.trim().split(/\s+/)[4] === String(pid));
}
