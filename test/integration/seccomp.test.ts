// linux.seccomp on real containers: the filter is there (/proc/self/status),
// each action does what the kernel says, argument rules match only their
// values, flags are accepted, SCMP_ACT_NOTIFY hands a working listener to an
// agent at listenerPath (this test is the agent), and bad profiles fail create
// leaving nothing behind. Each case runs with and without no_new_privs where
// the load point differs (before the capability drop / just before execve).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session, procStatus, waitFor } from '../helpers/session';
import type { LinuxSeccomp, LinuxSyscall } from '../../src/spec/types';
import { acceptUnix, listenUnix, recvFds, waitReadable } from '../../src/linux/unix-socket';
import { answerNotification, receiveNotification } from '../../src/linux/seccomp-notify';
import { closeFd } from '../../src/linux/fd';

const SIGSYS_EXIT = 128 + 31;
const NNP = [true, false];
const label = (nnp: boolean): string => (nnp ? 'with no_new_privs' : 'without no_new_privs');

const allowBut = (...syscalls: LinuxSyscall[]): LinuxSeccomp => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls });
const mkdirs = (action: LinuxSyscall['action'], extra: Partial<LinuxSyscall> = {}): LinuxSyscall => ({ names: ['mkdir', 'mkdirat'], action, ...extra });

describe('seccomp', function () {
  let s: Session;
  let tmp: string;
  const fds: number[] = [];

  beforeEach(() => {
    s = new Session();
    tmp = mkdtempSync(join(tmpdir(), 'tsrun-seccomp-'));
  });
  afterEach(() => {
    for (const fd of fds.splice(0)) closeFd(fd);
    s.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** `tsrun run` of `script` under `seccomp`; status and output. */
  function run(script: string, seccomp: LinuxSeccomp, nnp = true): { status: number | null; out: string; err: string } {
    const bundle = s.bundle(['sh', '-c', script], (spec) => {
      spec.root!.readonly = false;
      spec.process!.noNewPrivileges = nnp;
      spec.linux!.seccomp = seccomp;
    });
    const r = s.exec(['run', '--bundle', bundle.dir, s.id('sc')]);
    return { status: r.status, out: r.stdout, err: r.stderr };
  }

  function assertNothingLeft(bundleDir: string | null): void {
    assert.deepEqual(s.rootEntries(), []);
    if (bundleDir) assert.deepEqual(s.leftovers(null, bundleDir), []);
  }

  for (const nnp of NNP) {
    describe(label(nnp), () => {
      it('puts the process under one filter (Seccomp: 2), loaded at the right point', async () => {
        const bundle = s.bundle(['sh', '-c', 'grep ^Seccomp /proc/self/status'], (spec) => {
          spec.process!.noNewPrivileges = nnp;
          spec.linux!.seccomp = allowBut(mkdirs('SCMP_ACT_ERRNO'));
        });
        const id = s.id('sc');
        const { pid, out } = s.create(id, bundle);
        // Without no_new_privs the init is filtered while it waits; with it, only from start.
        assert.equal(procStatus(pid, 'Seccomp'), nnp ? '0' : '2');
        s.ok(['start', id]);
        assert.ok(await waitFor(() => s.state(id).status === 'stopped', 10000));
        const text = readFileSync(out.stdoutPath, 'utf8');
        assert.match(text, /^Seccomp:\s+2$/m);
        assert.match(text, /^Seccomp_filters:\s+1$/m);
      });

      it('returns the errnoRet of SCMP_ACT_ERRNO, EPERM without one, and allows the rest', () => {
        const script = 'mkdir /tmp/x || echo denied; touch /tmp/y && echo touched';
        const enosys = run(script, allowBut(mkdirs('SCMP_ACT_ERRNO', { errnoRet: 38 })), nnp);
        assert.equal(enosys.status, 0, enosys.err);
        assert.match(enosys.err, /mkdir: can't create directory '\/tmp\/x': Function not implemented/);
        assert.equal(enosys.out, 'denied\ntouched\n');
        const eperm = run(script, allowBut(mkdirs('SCMP_ACT_ERRNO')), nnp);
        assert.match(eperm.err, /'\/tmp\/x': Operation not permitted/);
        assert.equal(eperm.out, 'denied\ntouched\n');
      });

      it('a profile denying getcwd breaks neither run nor exec of a program that never calls it (the cwd is checked before)', () => {
        const denyGetcwd = allowBut({ names: ['getcwd'], action: 'SCMP_ACT_ERRNO' });
        const once = s.bundle(['true'], (spec) => {
          spec.process!.noNewPrivileges = nnp;
          spec.process!.cwd = '/tmp';
          spec.linux!.seccomp = denyGetcwd;
        });
        const ran = s.exec(['run', '--bundle', once.dir, s.id('sc')]);
        assert.equal(ran.status, 0, ran.stderr);
        assert.equal(ran.stderr, '');
        // The filter is really there: the shell's pwd -P asks getcwd, is refused, and prints no path.
        const pwd = run('pwd -P', denyGetcwd, nnp);
        assert.doesNotMatch(pwd.out, /\//, pwd.err);
        assert.equal(run('pwd -P', allowBut(), nnp).out, '/\n');
        const long = s.bundle(['sleep', '60'], (spec) => {
          spec.process!.noNewPrivileges = nnp;
          spec.linux!.seccomp = denyGetcwd;
        });
        const id = s.id('sc');
        s.create(id, long);
        s.ok(['start', id]);
        const exec = s.exec(['exec', '--cwd', '/tmp', id, 'true']);
        assert.equal(exec.status, 0, exec.stderr);
        assert.equal(exec.stderr, '');
        s.ok(['delete', '--force', id]);
        assertNothingLeft(long.dir);
      });

      it('kills the process with SCMP_ACT_KILL_PROCESS (SIGSYS, exit 159)', () => {
        const r = run('exec mkdir /tmp/x', allowBut(mkdirs('SCMP_ACT_KILL_PROCESS')), nnp);
        assert.equal(r.status, SIGSYS_EXIT, r.err);
      });
    });
  }

  it('kills with SCMP_ACT_KILL and SCMP_ACT_TRAP too, logs with SCMP_ACT_LOG, and fails with ENOSYS under SCMP_ACT_TRACE without a tracer', () => {
    for (const action of ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP'] as const) {
      const r = run('exec mkdir /tmp/x', allowBut(mkdirs(action)));
      assert.equal(r.status, SIGSYS_EXIT, `${action}: ${r.err}`);
    }
    const logged = run('mkdir /tmp/x && echo made', allowBut(mkdirs('SCMP_ACT_LOG')));
    assert.equal(logged.out, 'made\n', logged.err);
    const traced = run('mkdir /tmp/x', allowBut(mkdirs('SCMP_ACT_TRACE')));
    assert.match(traced.err, /Function not implemented/);
  });

  it('matches argument rules only for their values (EQ on personality, MASKED_EQ on the chmod mode)', () => {
    const PER_LINUX32 = 8;
    // Deny a mode with no group/other bits: (mode & 077) == 0. busybox chmod
    // passes the mode straight through (its mkdir -m makes 0777, then chmods).
    const privateMode = (names: string[], index: number): LinuxSyscall => ({
      names,
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 13,
      args: [{ index, value: 0o077, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    });
    const profile = allowBut(
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: PER_LINUX32, op: 'SCMP_CMP_EQ' }] },
      privateMode(['chmod'], 1),
      privateMode(['fchmodat'], 2),
    );
    const r = run(
      'linux32 true && echo linux32 ok; linux64 true && echo linux64 ok; touch /tmp/f; chmod 700 /tmp/f && echo private; chmod 755 /tmp/f && echo shared',
      profile,
    );
    assert.equal(r.out, 'linux64 ok\nshared\n', r.err);
    assert.match(r.err, /personality.*Operation not permitted/);
    assert.match(r.err, /chmod.*Permission denied/);
  });

  it('accepts the TSYNC, LOG and SPEC_ALLOW flags (and WAIT_KILLABLE_RECV with a warning)', () => {
    const r = run('mkdir /tmp/x || echo denied', {
      ...allowBut(mkdirs('SCMP_ACT_ERRNO')),
      flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
    });
    assert.equal(r.status, 0, r.err);
    assert.equal(r.out, 'denied\n');
  });

  it('skips a syscall unknown on this architecture', () => {
    const r = run('mkdir /tmp/x || echo denied', allowBut({ names: ['no_such_syscall', 'mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }));
    assert.equal(r.status, 0, r.err);
    assert.equal(r.out, 'denied\n');
  });

  describe('SCMP_ACT_NOTIFY', () => {
    /** Listens at a fresh path; the listener is closed after the test. */
    function agentSocket(): { path: string; fd: number } {
      const path = join(tmp, 'agent.sock');
      const fd = listenUnix(path, { nonblocking: true });
      fds.push(fd);
      return { path, fd };
    }

    for (const nnp of NNP) {
      it(`sends the listener and the process state to listenerPath, ${label(nnp)}; the agent answers the syscall`, async () => {
        const agent = agentSocket();
        const bundle = s.bundle(['mkdir', '/tmp/x'], (spec) => {
          spec.process!.noNewPrivileges = nnp;
          spec.annotations = { 'org.example/key': 'value' };
          spec.linux!.seccomp = { ...allowBut(mkdirs('SCMP_ACT_NOTIFY')), listenerPath: agent.path, listenerMetadata: 'agent-metadata' };
        });
        const id = s.id('notify');
        const { pid, out } = s.create(id, bundle);
        // The runtime connected before forking the init.
        const conn = acceptUnix(agent.fd, { nonblocking: true });
        assert.notEqual(conn, null, 'no connection from tsrun create');
        fds.push(conn!);
        // Without no_new_privs the filter (and so the message) came during create; with it, only at start.
        assert.equal(waitReadable(conn!, 0), !nnp);
        s.ok(['start', id]);
        assert.ok(await waitFor(() => waitReadable(conn!, 0), 10000), 'no message from the init');
        const message = recvFds(conn!, 64 * 1024, 4)!;
        message.fds.forEach((fd) => fds.push(fd));
        assert.equal(message.fds.length, 1);
        assert.equal(readlinkSync(`/proc/self/fd/${message.fds[0]}`), 'anon_inode:seccomp notify');
        const state = JSON.parse(message.payload.toString());
        assert.deepEqual(state.fds, ['seccompFd']);
        assert.equal(state.pid, pid);
        assert.equal(state.metadata, 'agent-metadata');
        assert.equal(state.ociVersion, state.state.ociVersion);
        assert.deepEqual(
          { id: state.state.id, pid: state.state.pid, bundle: state.state.bundle, annotations: state.state.annotations },
          { id, pid, bundle: bundle.dir, annotations: { 'org.example/key': 'value' } },
        );
        assert.equal(state.state.status, nnp ? 'created' : 'creating');
        // The init closed its copies: the stream ends after the one message.
        assert.equal(recvFds(conn!, 16, 1)!.payload.length, 0);

        // Act as the agent: the container's mkdir waits for our answer.
        const listener = message.fds[0];
        assert.ok(await waitFor(() => waitReadable(listener, 0), 10000), 'no notification');
        const notification = receiveNotification(listener);
        assert.equal(notification.pid, pid);
        if (process.arch === 'x64') assert.ok([83, 258].includes(notification.syscall), `syscall ${notification.syscall}`);
        answerNotification(listener, notification.id, 13 /* EACCES */);
        assert.ok(await waitFor(() => s.state(id).status === 'stopped', 10000));
        assert.match(readFileSync(out.stderrPath, 'utf8'), /mkdir: can't create directory '\/tmp\/x': Permission denied/);
      });
    }

    it('fails create when nothing listens at listenerPath, leaving nothing behind', () => {
      const bundle = s.bundle(['true'], (spec) => {
        spec.linux!.seccomp = { ...allowBut(mkdirs('SCMP_ACT_NOTIFY')), listenerPath: join(tmp, 'nobody.sock') };
      });
      const r = s.exec(['create', '--bundle', bundle.dir, s.id('notify')]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /seccomp listener .*nobody\.sock: connect\(.*\): ENOENT/);
      assertNothingLeft(bundle.dir);
    });

    it('refuses SCMP_ACT_NOTIFY without listenerPath at create', () => {
      const bundle = s.bundle(['true'], (spec) => {
        spec.linux!.seccomp = allowBut(mkdirs('SCMP_ACT_ERRNO'), { names: ['chmod'], action: 'SCMP_ACT_NOTIFY' });
      });
      const r = s.exec(['create', '--bundle', bundle.dir, s.id('notify')]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /config\.json: \/linux\/seccomp\/syscalls\/1\/action: SCMP_ACT_NOTIFY needs \/linux\/seccomp\/listenerPath/);
      assertNothingLeft(bundle.dir);
    });
  });

  it('refuses an unknown action with a config error naming it, leaving nothing behind', () => {
    const bundle = s.bundle(['true'], (spec) => {
      spec.linux!.seccomp = allowBut(mkdirs('SCMP_ACT_ERRNO'), mkdirs('SCMP_ACT_FOO' as never));
    });
    const r = s.exec(['create', '--bundle', bundle.dir, s.id('bad')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /config\.json: \/linux\/seccomp\/syscalls\/1\/action: /);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assertNothingLeft(bundle.dir);
  });

  it('refuses an architecture libseccomp does not know, leaving nothing behind', () => {
    const bundle = s.bundle(['true'], (spec) => {
      spec.linux!.seccomp = { ...allowBut(mkdirs('SCMP_ACT_ERRNO')), architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_SHEB'] };
    });
    const r = s.exec(['create', '--bundle', bundle.dir, s.id('bad')]);
    // libseccomp 2.5 has no SuperH; a newer one compiles it and the container runs.
    if (r.status === 0) return;
    assert.equal(r.status, 1);
    assert.match(r.stderr, /config\.json: \/linux\/seccomp\/architectures\/1: unknown architecture "SCMP_ARCH_SHEB"/);
    assertNothingLeft(bundle.dir);
  });
});
