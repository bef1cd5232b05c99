// The container's process, checked from inside real containers: exactly the
// configured args and environment (plus HOME), the cwd (made if missing),
// stdio passed straight through, and `run`'s exit code (the process' own, or
// 128+N after signal N).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { removeNamespace, isolated, lines, waitFor } from './isolation-common';

describe('isolation: the container process', function () {
  this.timeout(60000);

  it('gets exactly the configured args', isolated((fx) => {
    const r = fx.runOk(fx.bundle(['sh', '-c', 'for a in "$0" "$@"; do echo "<$a>"; done', 'zero', 'a b', '', 'c* $HOME']));
    assert.deepEqual(r.stdout.split('\n').filter((l) => l !== ''), ['<zero>', '<a b>', '<>', '<c* $HOME>']);
  }));

  it('gets exactly the configured environment plus HOME, nothing of the caller', isolated((fx) => {
    const canary = `TSRUN_ISO_CANARY_${process.pid}`;
    process.env[canary] = 'leaked';
    try {
      const env = ['PATH=/usr/bin:/bin', 'FOO=bar baz', 'EMPTY=', 'MULTI=a=b'];
      const r = fx.runOk(fx.bundle(['env'], (spec) => (spec.process!.env = env)));
      // root's home in the image's /etc/passwd
      assert.deepEqual(lines(r.stdout).sort(), [...env, 'HOME=/root'].sort());
    } finally {
      delete process.env[canary];
    }
  }));

  it('keeps a configured HOME', isolated((fx) => {
    const r = fx.runOk(fx.bundle(['env'], (spec) => (spec.process!.env = ['PATH=/bin', 'HOME=/custom'])));
    assert.deepEqual(lines(r.stdout).sort(), ['HOME=/custom', 'PATH=/bin']);
  }));

  it('starts in the configured cwd, creating it when missing', isolated((fx) => {
    const bundle = fx.bundle(['sh', '-c', 'pwd; echo "dot $(ls -d .)"'], (spec) => {
      spec.process!.cwd = '/work/deep/dir';
      spec.root!.readonly = true;
    });
    assert.ok(!existsSync(join(bundle.rootfs, 'work')));
    const r = fx.runOk(bundle);
    assert.deepEqual(lines(r.stdout), ['/work/deep/dir', 'dot .']);
    assert.ok(statSync(join(bundle.rootfs, 'work', 'deep', 'dir')).isDirectory());

    const existing = fx.runOk(fx.bundle(['pwd'], (spec) => (spec.process!.cwd = '/etc')));
    assert.equal(existing.stdout, '/etc\n');
  }));

  it('passes stdin, stdout and stderr straight through', isolated((fx) => {
    const input = 'line one\nline two\n';
    const cat = fx.runOk(fx.bundle(['cat']), { input });
    assert.equal(cat.stdout, input);

    const both = fx.runOk(fx.bundle(['sh', '-c', 'echo to-out; echo to-err >&2']));
    assert.equal(both.stdout, 'to-out\n');
    assert.equal(both.stderr, 'to-err\n');
  }));

  it('moves half a megabyte through stdin and stdout without loss (blocking pipes)', isolated((fx) => {
    // Far more than a pipe holds (64 KiB), well under spawnSync's 1 MiB maxBuffer.
    const chunk = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(28) + '\n';
    const input = chunk.repeat(Math.ceil((1 << 19) / chunk.length));
    const r = fx.runOk(fx.bundle(['cat']), { input });
    assert.equal(r.stdout.length, input.length);
    assert.ok(r.stdout === input, 'the data came out changed');
    assert.equal(r.stderr, '');
  }));

  it("exits with the process' exit code", isolated((fx) => {
    const r = fx.run(fx.bundle(['sh', '-c', 'exit 7']));
    assert.equal(r.status, 7, r.stderr);
    const f = fx.run(fx.bundle(['false']));
    assert.equal(f.status, 1, f.stderr);
  }));

  it('exits 128+N when signal N kills the container init from the host', isolated(async (fx) => {
    const bg = fx.background(fx.bundle(['sh', '-c', 'echo started; exec sleep 1000']));
    await waitFor('the container to start', () => bg.stdout().includes('started') && existsSync(bg.pidFile));
    const pid = fx.trackContainerPid(Number(readFileSync(bg.pidFile, 'utf8')));
    process.kill(pid, 'SIGKILL');
    const r = await bg.done;
    assert.equal(r.status, 128 + 9, r.stderr);
  }));

  it('exits 128+N when the process kills itself with signal N (no pid namespace)', isolated((fx) => {
    const bundle = fx.bundle(['sh', '-c', 'kill -TERM $$; sleep 5'], (spec) => removeNamespace(spec, 'pid'));
    const r = fx.run(bundle);
    assert.equal(r.status, 128 + 15, r.stderr);
  }));
});
