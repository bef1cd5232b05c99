// The device program for real: built from rules, loaded and attached with
// bpf(2) to a cgroup v2 directory of this test's own, a shell moved into it
// must be refused what the rules deny and given the rest. Needs root and a
// cgroup2 mount (on this hybrid host the empty one at /sys/fs/cgroup/unified).
// Only the directory the test makes is touched; it is removed afterwards.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { LinuxDeviceCgroup } from '../../src/spec/types';
import { SyscallError } from '../../src/errors';
import { buildDeviceProgram } from '../../src/cgroups/devices/ebpf';
import { clearCgroupDevicePrograms, loadCgroupDeviceProgram, setCgroupDeviceProgram } from '../../src/linux/bpf';
import { closeFd } from '../../src/linux/fd';
import { attachedDevicePrograms, cgroup2Mount, procsOf } from './cgroups-common';

/** This process' cgroup v2 path: the "0::<path>" line of /proc/self/cgroup. */
function ownV2Path(): string | undefined {
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
  return line?.slice(3);
}

/** Runs `script` in a shell that first moves itself into `dir`. */
function shellIn(dir: string, script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/bin/sh', ['-c', `echo $$ > "$1/cgroup.procs" || exit 99\n${script}`, 'sh', dir], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const ALLOW_ALL: LinuxDeviceCgroup = { allow: true, access: 'rwm' };
const DENY_NULL_WRITE: LinuxDeviceCgroup = { allow: false, type: 'c', major: 1, minor: 3, access: 'w' };

describe('eBPF device filter on a cgroup v2 directory', function () {
  let dir: string | undefined;

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
    if (!cgroup2Mount() || ownV2Path() === undefined) {
      console.log('      (no cgroup2 mount or no 0:: line in /proc/self/cgroup: skipped)');
      this.skip();
    }
  });

  beforeEach(() => {
    dir = posix.join(cgroup2Mount() as string, ownV2Path() as string, `tsrun-ebpf-${process.pid}`);
    mkdirSync(dir);
  });

  afterEach(() => {
    if (dir === undefined || !existsSync(dir)) return;
    // Whatever a failed test left in the directory was started by it.
    for (const pid of procsOf(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      clearCgroupDevicePrograms(dir);
    } catch {
      // removing the directory detaches them too
    }
    for (let i = 0; i < 50 && existsSync(dir); i++) {
      try {
        rmdirSync(dir);
      } catch {
        spawnSync('sleep', ['0.1']);
      }
    }
    assert.ok(!existsSync(dir), `${dir} could not be removed`);
    dir = undefined;
  });

  /** Attaches the rules' program, or skips the test when this kernel will not have it. */
  function attach(ctx: Mocha.Context, rules: LinuxDeviceCgroup[]): void {
    const program = buildDeviceProgram(rules);
    try {
      setCgroupDeviceProgram(dir as string, program.bytes, program.license);
    } catch (err) {
      if (err instanceof SyscallError && ['EPERM', 'EINVAL', 'ENOSYS', 'EOPNOTSUPP'].includes(err.errnoName)) {
        console.log(`      (the kernel refused the device program: ${err.message}; skipped)`);
        ctx.skip();
      }
      throw err;
    }
  }

  function attachedIds(): number[] {
    return attachedDevicePrograms(dir as string);
  }

  it('refuses writing /dev/null inside the cgroup and allows the rest', function () {
    attach(this, [ALLOW_ALL, DENY_NULL_WRITE]);
    assert.equal(attachedIds().length, 1);
    const r = shellIn(
      dir as string,
      'echo hi > /dev/null; echo "write=$?"\n' + 'head -c 4 /dev/zero | wc -c | sed "s/^ */zero=/"\n' + 'cat /dev/null; echo "read-null=$?"\n',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^write=[1-9]/m, r.stdout);
    assert.match(r.stderr, /\/dev\/null: Operation not permitted/, r.stderr);
    assert.match(r.stdout, /^zero=4$/m, r.stdout);
    assert.match(r.stdout, /^read-null=0$/m, r.stdout);
    // The filter is the cgroup's, not the host's: this process is outside it.
    writeFileSync('/dev/null', 'still writable here');

    assert.deepEqual(procsOf(dir as string), [], 'the shell should have left with its exit');
    clearCgroupDevicePrograms(dir as string);
    assert.deepEqual(attachedIds(), []);
    rmdirSync(dir as string);
    assert.ok(!existsSync(dir as string));
  });

  it('replaces the program on update, leaving exactly one attached', function () {
    attach(this, [ALLOW_ALL, DENY_NULL_WRITE]);
    const [first] = attachedIds();
    attach(this, [ALLOW_ALL]);
    const ids = attachedIds();
    assert.equal(ids.length, 1, `attached: ${ids.join(', ')}`);
    assert.notEqual(ids[0], first);
    let r = shellIn(dir as string, 'echo hi > /dev/null && echo ok');
    assert.equal(r.stdout.trim(), 'ok', r.stderr);

    // Deny-all plus read of /dev/zero only: the new rules take effect.
    attach(this, [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'r' }]);
    assert.equal(attachedIds().length, 1);
    r = shellIn(dir as string, 'head -c 2 /dev/zero | wc -c | sed "s/^ */zero=/"; echo x > /dev/zero; echo "write-zero=$?"; cat /dev/null; echo "read-null=$?"');
    assert.match(r.stdout, /^zero=2$/m, r.stdout + r.stderr);
    assert.match(r.stdout, /^write-zero=[1-9]/m, r.stdout);
    assert.match(r.stdout, /^read-null=[1-9]/m, r.stdout);
  });

  it('reports a verifier refusal with the kernel log in the message', function () {
    // One "w0 = 0" and no exit: the verifier must refuse it.
    const bad = Buffer.from('b400000000000000', 'hex');
    try {
      const fd = loadCgroupDeviceProgram(bad, 'Apache');
      closeFd(fd);
      assert.fail('the kernel loaded a program without exit');
    } catch (err) {
      assert.ok(err instanceof SyscallError, String(err));
      if (err.errnoName === 'EPERM') this.skip();
      assert.equal(err.call, 'bpf');
      assert.match(err.message, /BPF_PROG_LOAD of a cgroup device program, verifier: .*exit/);
      assert.match(err.errnoName, /^(EINVAL|EACCES)$/);
    }
  });
});
