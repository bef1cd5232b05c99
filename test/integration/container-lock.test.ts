// The per-container lock (src/lifecycle/lock.ts) between real processes:
// the kernel releases it when its holder is SIGKILLed, contenders take turns,
// and a failure other than "held" is reported at once, naming the call.
// Record locks never exclude within one process, so every holder here is a
// child node process running the built lock module.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/harness';
import { waitFor } from '../helpers/session';
import { withContainerLock } from '../../src/lifecycle/lock';

const LOCK_MODULE = join(__dirname, '..', '..', 'src', 'lifecycle', 'lock.js');
const BOUND_MS = 15000;

/** Takes the lock, says `held`, and keeps it until killed. */
const HOLDER = `
const { withContainerLock } = require(process.env.LOCK_MODULE);
withContainerLock(process.env.ROOT, 'box', () => new Promise(() => {
  process.stdout.write('held\\n');
  setInterval(() => undefined, 1000);
}));`;

/** Takes the lock, then reports the state letter of process HOLDER ('' once gone). */
const AFTER_HOLDER = `
const { readFileSync } = require('node:fs');
const { withContainerLock } = require(process.env.LOCK_MODULE);
const stateOf = (pid) => { try { const t = readFileSync('/proc/' + pid + '/stat', 'latin1'); return t.slice(t.lastIndexOf(')') + 2, t.lastIndexOf(')') + 3); } catch { return ''; } };
withContainerLock(process.env.ROOT, 'box', () => process.stdout.write('acquired, holder state "' + stateOf(process.env.HOLDER) + '"\\n'));`;

/** ROUNDS times: takes the lock and logs "TAG in", works a little, logs "TAG out". */
const TAKER = `
const { appendFileSync } = require('node:fs');
const { withContainerLock } = require(process.env.LOCK_MODULE);
(async () => {
  for (let i = 0; i < Number(process.env.ROUNDS); i++) {
    await withContainerLock(process.env.ROOT, 'box', async () => {
      appendFileSync(process.env.LOG, process.env.TAG + ' in\\n');
      await new Promise((r) => setTimeout(r, 10));
      appendFileSync(process.env.LOG, process.env.TAG + ' out\\n');
    });
  }
})();`;

describe('container lock', function () {
  this.timeout(60000);
  let root: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    root = tempDir('tsrun-lock-');
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  /** A node child running `script`; resolves with its exit status and stdout. */
  function node(script: string, env: Record<string, string>): { child: ChildProcess; out: () => string; done: Promise<{ status: number | null; out: string; err: string }> } {
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, LOCK_MODULE, ROOT: root, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const done = new Promise<{ status: number | null; out: string; err: string }>((resolve) => child.once('close', (status) => resolve({ status, out, err })));
    return { child, out: () => out, done };
  }

  function posixWriteLockOwners(): number[] {
    return readFileSync('/proc/locks', 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[1] === 'POSIX' && f[3] === 'WRITE')
      .map((f) => Number(f[4]));
  }

  it('is released by the kernel when its holder is SIGKILLed', async () => {
    const holder = node(HOLDER, {});
    assert.ok(await waitFor(() => holder.out().includes('held'), BOUND_MS), 'the holder never took the lock');
    const holderPid = holder.child.pid as number;
    assert.ok(posixWriteLockOwners().includes(holderPid), 'no POSIX write lock of the holder in /proc/locks');
    // Waits (polling) while the holder lives; reports whether it was dead when it got in.
    const next = node(AFTER_HOLDER, { HOLDER: String(holderPid) });
    holder.child.kill('SIGKILL');
    await holder.done;
    const r = await Promise.race([next.done, new Promise<null>((resolve) => setTimeout(() => resolve(null), BOUND_MS))]);
    assert.ok(r !== null, `the lock was not free within ${BOUND_MS} ms of its holder's death`);
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /^acquired, holder state "(Z|X|)"\n$/);
    assert.deepEqual(readdirSync(root), [], 'the lock file stayed');
  });

  it('serializes contending processes', async () => {
    const log = join(root, '..', `${root.split('/').pop()}.log`);
    try {
      const rounds = 5;
      const takers = ['a', 'b', 'c', 'd'].map((tag) => node(TAKER, { TAG: tag, LOG: log, ROUNDS: String(rounds) }));
      const results = await Promise.all(takers.map((t) => t.done));
      results.forEach((r) => assert.equal(r.status, 0, r.err));
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      assert.equal(lines.length, 4 * rounds * 2);
      for (let i = 0; i < lines.length; i += 2) {
        const tag = lines[i].split(' ')[0];
        assert.deepEqual([lines[i], lines[i + 1]], [`${tag} in`, `${tag} out`], `overlap at line ${i + 1}: ${lines.slice(i, i + 2).join(', ')}`);
      }
      assert.deepEqual(readdirSync(root), [], 'the lock file stayed');
    } finally {
      rmSync(log, { force: true });
    }
  });

  it('reports a failure other than "held" at once, naming the call and the path', async () => {
    const path = join(root, 'box.lock');
    mkdirSync(path);
    const t0 = Date.now();
    await assert.rejects(
      withContainerLock(root, 'box', () => undefined),
      (err: Error) => err.message === `open(${path}): EISDIR`,
    );
    assert.ok(Date.now() - t0 < BOUND_MS);
    assert.ok(existsSync(path));
  });
});
