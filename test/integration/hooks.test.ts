// Each hook kind runs at its point, in its namespace, with the state on stdin;
// create-time failures fail the operation and leave nothing, post* failures
// are warnings.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session, waitFor } from '../helpers/session';
import { isAlive, liveProcessesMentioning, tempDir } from '../helpers/harness';
import type { Hook, Spec } from '../../src/spec/types';

interface HookRecord {
  kind: string;
  mnt: string;
  state: { status: string; id: string; pid: number; bundle: string; annotations?: Record<string, string> };
}

describe('hooks', function () {
  let s: Session;
  let dir: string;
  let log: string;
  let recorder: string;

  beforeEach(() => {
    s = new Session();
    dir = tempDir('tsrun-hooks-');
    log = join(dir, 'log');
    recorder = join(dir, 'record.sh');
    // Records its kind, its mount namespace and the state it read on stdin.
    writeFileSync(recorder, `#!/bin/sh\nstate=$(cat)\necho "$1|$(readlink /proc/self/ns/mnt)|$state" >> ${log}\n`);
    chmodSync(recorder, 0o755);
  });
  afterEach(() => {
    s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const hook = (kind: string, extra: Partial<Hook> = {}): Hook[] => [{ path: recorder, args: ['record.sh', kind], ...extra }];
  const records = (): HookRecord[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((line) => {
            const [kind, mnt, state] = line.split('|');
            return { kind, mnt, state: JSON.parse(state) };
          })
      : [];

  it('runs every kind in order, at its point, in its namespace, with the state on stdin', async () => {
    const b = s.bundle(['true'], (spec: Spec) => {
      spec.annotations = { 'org.test': 'yes' };
      spec.hooks = {
        prestart: hook('prestart'),
        createRuntime: hook('createRuntime'),
        createContainer: hook('createContainer'),
        poststart: hook('poststart'),
        poststop: hook('poststop'),
      };
    });
    const id = s.id('hk');
    const { pid } = s.create(id, b);
    const hostMnt = readlinkSync('/proc/self/ns/mnt');
    const containerMnt = readlinkSync(`/proc/${pid}/ns/mnt`);
    let seen = records();
    assert.deepEqual(seen.map((r) => r.kind), ['prestart', 'createRuntime', 'createContainer']);
    assert.equal(seen[0].mnt, hostMnt);
    assert.equal(seen[1].mnt, hostMnt);
    assert.equal(seen[2].mnt, containerMnt, 'createContainer runs in the container mount namespace');
    for (const r of seen) {
      assert.equal(r.state.status, 'creating');
      assert.equal(r.state.id, id);
      assert.equal(r.state.pid, pid);
      assert.equal(r.state.bundle, b.dir);
      assert.deepEqual(r.state.annotations, { 'org.test': 'yes' });
    }
    s.ok(['start', id]);
    seen = records();
    assert.equal(seen[3].kind, 'poststart');
    assert.equal(seen[3].state.status, 'running');
    assert.equal(seen[3].mnt, hostMnt);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped'));
    s.ok(['delete', '--force', id]);
    seen = records();
    assert.equal(seen[4].kind, 'poststop');
    assert.equal(seen[4].state.status, 'stopped');
  });

  it('runs startContainer inside the container, after start and before the program', () => {
    const b = s.bundle(['sh', '-c', 'cat /tmp/hook-saw; echo program'], (spec: Spec) => {
      spec.root!.readonly = false;
      // Resolved in the container: busybox's sh, writing into the container's /tmp.
      spec.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /tmp/hook-saw; echo >> /tmp/hook-saw'] }] };
    });
    const out = s.ok(['run', '--bundle', b.dir, s.id('hk')]);
    const [state, program] = out.stdout.trim().split('\n');
    assert.equal(JSON.parse(state).status, 'created');
    assert.equal(program, 'program');
  });

  for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
    it(`fails create when a ${kind} hook fails, naming it, and leaves nothing`, () => {
      const b = s.bundle(['true'], (spec: Spec) => {
        spec.hooks = { [kind]: [{ path: '/bin/sh', args: ['sh', '-c', 'echo broken >&2; exit 3'] }] };
      });
      const id = s.id('hkfail');
      const out = s.exec(['create', '--bundle', b.dir, id]);
      assert.equal(out.status, 1);
      assert.match(out.stderr, new RegExp(`${kind} hook #0 \\(/bin/sh\\) failed: exit status 3: broken`));
      assert.equal(out.stderr.trim().split('\n').length, 1);
      assert.deepEqual(s.leftovers(b, id), []);
    });
  }

  it('kills a hook that outlives its timeout and fails create', () => {
    const b = s.bundle(['true'], (spec: Spec) => {
      spec.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] };
    });
    const id = s.id('hkslow');
    const started = Date.now();
    const out = s.exec(['create', '--bundle', b.dir, id]);
    assert.equal(out.status, 1);
    assert.match(out.stderr, /createRuntime hook #0 \(\/bin\/sleep\) failed: timed out after 1 s/);
    assert.ok(Date.now() - started < 10000);
    assert.deepEqual(s.leftovers(b, id), []);
  });

  it('a create that fails once its runtime hooks began runs the poststop hooks, after the container is gone', () => {
    const b = s.bundle(['true'], (spec: Spec) => {
      spec.hooks = {
        createRuntime: hook('createRuntime'),
        createContainer: [{ path: '/bin/false', args: ['false'] }],
        poststop: hook('poststop'),
      };
    });
    const id = s.id('hkfail');
    const out = s.exec(['create', '--bundle', b.dir, id]);
    assert.equal(out.status, 1);
    assert.match(out.stderr, /createContainer hook #0 \(\/bin\/false\) failed/);
    const got = records();
    assert.deepEqual(got.map((r) => r.kind), ['createRuntime', 'poststop']);
    assert.equal(got[1].state.status, 'stopped');
    assert.equal(got[1].state.id, id);
    assert.equal(isAlive(got[0].state.pid), false, 'the init is gone before poststop');
    assert.deepEqual(s.leftovers(b, id), []);
  });

  it('passes env and args to the hook', () => {
    const b = s.bundle(['true'], (spec: Spec) => {
      spec.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo "$0 $FOO" > ${join(dir, 'env')}`, 'arg0'], env: ['FOO=bar'] }] };
    });
    s.ok(['run', '--bundle', b.dir, s.id('hkenv')]);
    assert.equal(readFileSync(join(dir, 'env'), 'utf8'), 'arg0 bar\n');
  });

  it('only warns when poststart or poststop fail, on stderr and in the log: the lifecycle goes on', () => {
    const logFile = join(dir, 'tsrun.log');
    const b = s.bundle(['true'], (spec: Spec) => {
      spec.hooks = {
        poststart: [{ path: '/bin/false' }],
        poststop: [{ path: '/bin/false' }],
      };
    });
    const id = s.id('hkpost');
    const out = s.exec(['run', '--bundle', b.dir, id], { globals: ['--root', s.root, '--log', logFile, '--log-format', 'json'] });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(out.stderr.trim().split('\n'), [
      'tsrun: warning: poststart hook #0 (/bin/false) failed: exit status 1',
      'tsrun: warning: poststop hook #0 (/bin/false) failed: exit status 1',
    ]);
    const warnings = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(warnings.some((w) => w.level === 'warning' && /poststart hook #0 \(\/bin\/false\) failed/.test(w.msg)));
    assert.ok(warnings.some((w) => w.level === 'warning' && /poststop hook #0 \(\/bin\/false\) failed/.test(w.msg)));
    assert.deepEqual(s.leftovers(b, id), []);
  });

  it('runs the remaining poststart hooks after one fails, warns naming it, and the container runs', async () => {
    const b = s.bundle(['sleep', '60'], (spec: Spec) => {
      spec.hooks = { poststart: [{ path: '/bin/sh', args: ['sh', '-c', 'echo nope >&2; exit 1'] }, ...hook('poststart')] };
    });
    const id = s.id('hkps');
    s.create(id, b);
    const out = s.exec(['start', id]);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stderr, 'tsrun: warning: poststart hook #0 (/bin/sh) failed: exit status 1: nope\n');
    assert.deepEqual(records().map((r) => r.kind), ['poststart'], 'the second poststart hook ran');
    assert.equal(s.state(id).status, 'running');
    s.ok(['delete', '--force', id]);
    assert.deepEqual(s.leftovers(b, id), []);
  });

  it('runs the remaining poststop hooks after one fails, warns naming it, and delete succeeds', async () => {
    const b = s.bundle(['true'], (spec: Spec) => {
      spec.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 1'] }, ...hook('poststop')] };
    });
    const id = s.id('hkpd');
    s.create(id, b);
    s.ok(['start', id]);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped'));
    const out = s.exec(['delete', id]);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stderr, 'tsrun: warning: poststop hook #0 (/bin/sh) failed: exit status 1\n');
    assert.deepEqual(records().map((r) => r.kind), ['poststop'], 'the second poststop hook ran');
    assert.equal(records()[0].state.status, 'stopped');
    assert.deepEqual(s.leftovers(b, id), []);
  });

  it('kills the process group of a hook past its timeout: nothing it forked is left', async () => {
    // A sleep whose length is unique to this test names it in the process table.
    const marker = `9${process.pid}1`;
    const b = s.bundle(['true'], (spec: Spec) => {
      // The shell forks a sleep (not exec'd: `; true` keeps the shell) that only a group kill reaches.
      spec.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `sleep ${marker}; true`], timeout: 1 }] };
    });
    const id = s.id('hkgrp');
    const out = s.exec(['create', '--bundle', b.dir, id]);
    assert.equal(out.status, 1);
    assert.equal(out.stderr, `tsrun: createRuntime hook #0 (/bin/sh) failed: timed out after 1 s\n`);
    assert.ok(await waitFor(() => liveProcessesMentioning(marker).length === 0), `left: ${liveProcessesMentioning(marker).join(' ')}`);
    assert.deepEqual(s.leftovers(b, id), []);
  });

  it('a poststart hook past its timeout is killed and reported as a warning; start succeeds', async () => {
    const marker = `9${process.pid}2`;
    const b = s.bundle(['sleep', '60'], (spec: Spec) => {
      spec.hooks = { poststart: [{ path: '/bin/sh', args: ['sh', '-c', `sleep ${marker}; true`], timeout: 1 }, ...hook('poststart')] };
    });
    const id = s.id('hkpst');
    s.create(id, b);
    const out = s.exec(['start', id]);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stderr, 'tsrun: warning: poststart hook #0 (/bin/sh) failed: timed out after 1 s\n');
    assert.deepEqual(records().map((r) => r.kind), ['poststart']);
    assert.ok(await waitFor(() => liveProcessesMentioning(marker).length === 0));
    s.ok(['delete', '--force', id]);
    assert.deepEqual(s.leftovers(b, id), []);
  });
});
