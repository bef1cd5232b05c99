// Known container escapes, each attempted from inside a real container and
// required to fail: a leaked host directory reached through a descriptor or
// the working directory (CVE-2024-21626), the runtime's own binary reached
// through /proc/<init>/exe while the init waits (CVE-2019-5736), and
// inheritable/ambient capabilities given by default (CVE-2022-29162).
// Mount-related escapes are in escapes-mounts.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../../src/spec/types';
import { TSRUN, type Bundle } from '../helpers/harness';
import { addNamespace, clip, isolated, lines, waitFor, type Fixture, type Ran } from './isolation-common';
import { capFields, capMask, specBundle, statusFields } from './security-common';

/** `tsrun run` with descriptors 3, 4, ... of tsrun set to `fds` (as a careless caller would leak them). */
function runWithFds(fx: Fixture, bundle: Bundle, fds: Array<number | 'ignore'>, extra: string[] = []): Ran {
  const id = fx.id();
  const pidFile = join(fx.dir('tsrun-esc-pid-'), 'pid');
  const r = spawnSync(TSRUN, ['--root', fx.runtime.root, 'run', '--bundle', bundle.dir, '--pid-file', pidFile, ...extra, id], {
    stdio: ['ignore', 'pipe', 'pipe', ...fds],
    encoding: 'utf8',
    timeout: 30000,
  });
  let pid = 0;
  try {
    pid = fx.trackContainerPid(Number(readFileSync(pidFile, 'utf8')));
  } catch {
    // refused before a pid file was written
  }
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', id, pid };
}

/** `tsrun create` with its stdio (which the init keeps) in files; returns the waiting init's pid. */
function createContainer(fx: Fixture, bundle: Bundle): { id: string; pid: number } {
  const id = fx.id();
  const io = fx.dir('tsrun-esc-io-');
  const out = openSync(join(io, 'out'), 'w');
  const err = openSync(join(io, 'err'), 'w');
  let r;
  try {
    r = spawnSync(TSRUN, ['--root', fx.runtime.root, 'create', '--bundle', bundle.dir, id], { stdio: ['ignore', out, err], timeout: 30000 });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  if (r.status !== 0) throw new Error(`tsrun create exited ${r.status ?? r.signal}: ${readFileSync(join(io, 'err'), 'utf8')}`);
  return { id, pid: fx.trackContainerPid(fx.runtime.state(id).pid) };
}

/** A marker file at the root of the bundle's rootfs, and one in a host directory the container must never see. */
function markers(fx: Fixture, bundle: Bundle): { inside: string; hostDir: string; outside: string } {
  const inside = `rootfs-marker-${process.pid}`;
  writeFileSync(join(bundle.rootfs, inside), '');
  const hostDir = fx.dir('tsrun-esc-host-');
  const outside = `host-marker-${process.pid}`;
  writeFileSync(join(hostDir, outside), '');
  return { inside, hostDir, outside };
}

// Where the process' cwd leads: its path, what `..` shows, and the root it reaches by climbing.
const WHERE = 'echo "cwd $(readlink /proc/$$/cwd)"; echo "up $(ls -a /proc/self/cwd/.. | tr "\\n" " ")"; cd ../../../../../../..; echo "top $(ls -a | tr "\\n" " ")"';

describe('escapes: host files through descriptors, cwd and /proc (CVE-2024-21626, CVE-2019-5736, CVE-2022-29162)', function () {
  this.timeout(60000);

  describe('CVE-2024-21626: leaked descriptors and the working directory', () => {
    // For each descriptor 3..255 the shell holds: "fd N dir" or "fd N other".
    const FDS = 'n=3; while [ $n -lt 256 ]; do if [ -e /proc/$$/fd/$n ]; then if [ -d /proc/$$/fd/$n ]; then echo "fd $n dir"; else echo "fd $n other"; fi; fi; n=$((n+1)); done; echo end';

    it('gives the program no descriptor but stdio and --preserve-fds ones, though the caller leaked a host directory', isolated((fx) => {
      const bundle = fx.bundle(['sh', '-c', FDS]);
      const { hostDir } = markers(fx, bundle);
      const dirFd = openSync(hostDir, 'r');
      const fileFd = openSync(join(hostDir, 'preserved'), 'w');
      // Node marks its descriptors up to the first gap past 15 close-on-exec
      // at start-up, not beyond: leak the directory low and high.
      const high = (fds: number[]): Array<number | 'ignore'> => [...fds, ...Array<'ignore'>(40 - 3 - fds.length).fill('ignore'), dirFd];
      try {
        const plain = runWithFds(fx, bundle, high([dirFd, fileFd]));
        assert.equal(plain.status, 0, plain.stderr);
        assert.deepEqual(lines(plain.stdout), ['end']);
        // The preserved fd 3 is the file; the directory leaked as fd 4 (and 40) is not passed.
        const preserved = runWithFds(fx, bundle, high([fileFd, dirFd]), ['--preserve-fds', '1']);
        assert.equal(preserved.status, 0, preserved.stderr);
        assert.deepEqual(lines(preserved.stdout), ['fd 3 other', 'end']);
      } finally {
        closeSync(dirFd);
        closeSync(fileFd);
      }
    }));

    it('starts in the rootfs: cwd is / (or the configured one) and .. never leaves the rootfs', isolated((fx) => {
      const bundle = fx.bundle(['sh', '-c', WHERE]);
      const { inside } = markers(fx, bundle);
      const r = fx.runOk(bundle);
      const out = lines(r.stdout);
      assert.equal(out[0], 'cwd /');
      assert.ok(out[1].split(' ').includes(inside), out[1]);
      assert.ok(out[2].split(' ').includes(inside), out[2]);

      const etc = fx.bundle(['sh', '-c', WHERE], (spec) => (spec.process!.cwd = '/etc'));
      const { inside: inside2 } = markers(fx, etc);
      const e = lines(fx.runOk(etc).stdout);
      assert.equal(e[0], 'cwd /etc');
      assert.ok(e[1].split(' ').includes(inside2), e[1]);
      assert.ok(e[2].split(' ').includes(inside2), e[2]);
    }));

    /**
     * The init's cwd named through /proc/self/fd/N (directly, or through a
     * symlink in the image) while a host directory is open as N: the
     * container must be refused, or start inside its rootfs.
     */
    function assertCwdStaysInside(fx: Fixture, cwd: string, preserve: boolean, link?: [string, string]): void {
      const bundle = fx.bundle(['sh', '-c', `${WHERE}; ls -a`], (spec) => (spec.process!.cwd = cwd));
      if (link) symlinkSync(link[1], join(bundle.rootfs, link[0]));
      const { inside, hostDir, outside } = markers(fx, bundle);
      const dirFd = openSync(hostDir, 'r');
      let r: Ran;
      try {
        r = runWithFds(fx, bundle, [dirFd], preserve ? ['--preserve-fds', '1'] : []);
      } finally {
        closeSync(dirFd);
      }
      const what = `cwd ${cwd}${link ? ` (${link[0]} -> ${link[1]})` : ''}${preserve ? ' with --preserve-fds 1' : ''}`;
      assert.ok(!r.stdout.includes(outside), `${what}: the container saw the host directory: ${clip(r.stdout)}`);
      if (r.status === 0) {
        const top = lines(r.stdout).find((l) => l.startsWith('top '));
        assert.ok(top?.split(' ').includes(inside), `${what}: climbing up did not reach the rootfs: ${clip(r.stdout)}`);
      } else {
        assert.equal(r.stdout, '', `${what}: refused, yet the program ran`);
        assert.equal(lines(r.stderr).length, 1, clip(r.stderr));
      }
    }

    it('never starts the program in a host directory named as /proc/self/fd/N', isolated((fx) => {
      assertCwdStaysInside(fx, '/proc/self/fd/3', false);
      assertCwdStaysInside(fx, '/proc/self/fd/3', true);
      assertCwdStaysInside(fx, '/proc/1/fd/3', true);
    }));

    it('never starts the program in a host directory reached through a symlink in the image', isolated((fx) => {
      assertCwdStaysInside(fx, '/work', false, ['work', '/proc/self/fd/3']);
      assertCwdStaysInside(fx, '/work/.', true, ['work', '../../../proc/self/fd/3']);
      assertCwdStaysInside(fx, '/up', false, ['up', '../../../../../../..']);
    }));

    it('never starts an exec\'d process in a host directory named as its cwd', isolated(async (fx) => {
      const bundle = fx.bundle(['sleep', '1000']);
      const { inside, hostDir, outside } = markers(fx, bundle);
      const c = fx.detach(bundle);
      const dirFd = openSync(hostDir, 'r');
      try {
        for (const [cwd, preserve] of [['/proc/self/fd/3', false], ['/proc/self/fd/3', true]] as const) {
          const r = spawnSync(
            TSRUN,
            ['--root', fx.runtime.root, 'exec', '--cwd', cwd, ...(preserve ? ['--preserve-fds', '1'] : []), c.id, 'sh', '-c', `${WHERE}; ls -a`],
            { stdio: ['ignore', 'pipe', 'pipe', dirFd], encoding: 'utf8', timeout: 30000 },
          );
          assert.ok(!r.stdout.includes(outside), `exec --cwd ${cwd}: the process saw the host directory: ${clip(r.stdout)}`);
          if (r.status === 0) assert.ok(lines(r.stdout).find((l) => l.startsWith('top '))?.split(' ').includes(inside), clip(r.stdout));
          else assert.equal(r.stdout, '', `refused, yet the program ran: ${clip(r.stderr)}`);
        }
      } finally {
        closeSync(dirFd);
      }
    }));
  });

  describe('CVE-2019-5736: the waiting init (the runtime binary) is out of reach', () => {
    // From a second container in the first one's pid namespace, as root with the default capabilities.
    const PROBE = [
      'cat /proc/1/environ > /dev/null && echo environ-read',
      'readlink /proc/1/exe > /dev/null && echo exe-link-read',
      '(exec 3>>/proc/1/exe) && echo exe-opened-for-writing',
      'true',
    ].join('; ');

    function probeBundle(fx: Fixture, initPid: number, mutate?: (spec: Spec) => void): Bundle {
      return fx.bundle(['sh', '-c', PROBE], (spec) => {
        addNamespace(spec, 'pid', `/proc/${initPid}/ns/pid`);
        mutate?.(spec);
      });
    }

    it('refuses /proc/1/environ and /proc/1/exe of the waiting init to a container sharing its pid namespace; after start they are readable', isolated(async (fx) => {
      const target = createContainer(fx, fx.bundle(['sleep', '1000']));
      assert.ok(readFileSync(`/proc/${target.pid}/cmdline`, 'latin1').includes('node'), 'the waiting init is the runtime');
      const before = fx.runOk(probeBundle(fx, target.pid));
      assert.equal(before.stdout, '', `the waiting init was reachable: ${clip(before.stdout)}`);
      assert.match(before.stderr, /can't open '\/proc\/1\/environ': Permission denied/);
      assert.match(before.stderr, /\/proc\/1\/exe: Permission denied/);

      fx.runtime.run(['start', target.id]);
      await waitFor('the program to replace the init', () => readFileSync(`/proc/${target.pid}/cmdline`, 'latin1').startsWith('sleep'));
      // The same probe now reaches the (dumpable) program: the refusal above was the init's doing.
      const after = fx.runOk(probeBundle(fx, target.pid));
      assert.deepEqual(lines(after.stdout).slice(0, 2), ['environ-read', 'exe-link-read'], clip(after.stderr));
    }));

    // (Becoming root of the user namespace is a credential change, which
    // also leaves a process non-dumpable; the test above is the one that
    // needs the init's own prctl.)
    it('keeps /proc/<init> owned by host root in a user namespace until start, then by the mapped user', isolated(async (fx) => {
      const HOST_BASE = 100000;
      const bundle = fx.bundle(['sleep', '1000'], (spec) => {
        addNamespace(spec, 'user');
        spec.linux!.uidMappings = [{ containerID: 0, hostID: HOST_BASE, size: 65536 }];
        spec.linux!.gidMappings = [{ containerID: 0, hostID: HOST_BASE, size: 65536 }];
      });
      spawnSync('chown', ['-R', `${HOST_BASE}:${HOST_BASE}`, bundle.rootfs]);
      chmodSync(bundle.dir, 0o711);
      const target = createContainer(fx, bundle);
      assert.equal(statusFields(readFileSync(`/proc/${target.pid}/status`, 'utf8')).Uid.split(/\s+/)[1], String(HOST_BASE));
      for (const f of ['environ', 'mem', 'fd']) assert.equal(statSync(`/proc/${target.pid}/${f}`).uid, 0, `/proc/<init>/${f} owner`);

      // A second container as (mapped) root in the same user and pid namespaces.
      const probe = probeBundle(fx, target.pid, (spec) => addNamespace(spec, 'user', `/proc/${target.pid}/ns/user`));
      spawnSync('chown', ['-R', `${HOST_BASE}:${HOST_BASE}`, probe.rootfs]);
      chmodSync(probe.dir, 0o711);
      const before = fx.runOk(probe);
      assert.equal(before.stdout, '', `the waiting init was reachable: ${clip(before.stdout)}`);

      fx.runtime.run(['start', target.id]);
      await waitFor('the program to replace the init', () => readFileSync(`/proc/${target.pid}/cmdline`, 'latin1').startsWith('sleep'));
      assert.equal(statSync(`/proc/${target.pid}/environ`).uid, HOST_BASE);
      const after = fx.runOk(probe);
      assert.deepEqual(lines(after.stdout).slice(0, 2), ['environ-read', 'exe-link-read'], clip(after.stderr));
    }));
  });

  describe('CVE-2022-29162: no inheritable or ambient capabilities unless configured', () => {
    it('gives the container and an exec\'d process of the `tsrun spec` config empty CapInh and CapAmb', isolated(async (fx) => {
      let caps: string[] = [];
      const bundle = specBundle(fx, ['sh', '-c', 'cat /proc/self/status; exec sleep 1000'], (spec) => {
        caps = spec.process!.capabilities!.bounding!;
        assert.equal(spec.process!.capabilities!.inheritable, undefined);
        assert.equal(spec.process!.capabilities!.ambient, undefined);
      });
      const c = fx.detach(bundle);
      await waitFor('the container to start', () => c.stdout().includes('CapAmb'));
      const expected = { CapInh: capMask([]), CapPrm: capMask(caps), CapEff: capMask(caps), CapBnd: capMask(caps), CapAmb: capMask([]) };
      assert.deepEqual(capFields(c.stdout()), expected);
      assert.deepEqual(capFields(readFileSync(`/proc/${c.pid}/status`, 'utf8')), expected);

      const exec = fx.runtime.run(['exec', c.id, 'cat', '/proc/self/status']);
      assert.equal(exec.status, 0, exec.stderr);
      assert.deepEqual(capFields(exec.stdout), expected);
      // As a non-root user the same config leaves nothing at all to inherit.
      const user = fx.runtime.run(['exec', '--user', '1000:1000', c.id, 'cat', '/proc/self/status']);
      assert.equal(user.status, 0, user.stderr);
      assert.deepEqual(capFields(user.stdout), { ...expected, CapPrm: capMask([]), CapEff: capMask([]) });
    }));
  });
});
