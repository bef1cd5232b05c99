// podman (through conmon) with tsrun as its OCI runtime: `podman --runtime
// <bin/tsrun>` for run, exec, pause/unpause, stop, kill, rm, terminals and
// errors. podman gets a private world under a temp dir: its own
// containers.conf and storage.conf, --root/--runroot/--tmpdir, file events
// and file locks, no network. Its cgroup manager is the host's: systemd
// where systemd is the init (podman then passes tsrun --systemd-cgroup and
// machine.slice:libpod:<id>), cgroupfs elsewhere. The image is the test
// busybox rootfs imported with `podman import`; nothing is downloaded.
//
// The first group depends on the host's cgroup layout and init; the second
// on neither (the VM suite runs the first: -g 'cgroups and init').
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { BUSYBOX_ROOTFS, isAlive } from '../helpers/harness';
import { waitFor } from '../helpers/session';
import { cgroupDirsOfProcess, describeResult, missingBinary, which } from '../helpers/engines';
import { CGROUP_MANAGER, Podman } from '../helpers/podman';

const IMAGE = 'localhost/tsrun-busybox:test';

/**
 * podman sets RLIMIT_NOFILE and RLIMIT_NPROC to large values by default;
 * raising a hard limit needs CAP_SYS_RESOURCE, which some CI sandboxes lack
 * (runc fails there the same way), so the tests ask for low limits (root is
 * exempt from RLIMIT_NPROC anyway).
 */
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];

const MIB = 1024 * 1024;
const UNIFIED = existsSync('/sys/fs/cgroup/cgroup.controllers');
/** The memory and pids limits as a container sees them (in its own cgroup). */
const LIMIT_FILES = UNIFIED ? ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/pids.max'] : ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/pids/pids.max'];

/** `systemctl show --property=P --value UNIT` of this machine's systemd. */
function unitProperty(unit: string, property: string): string {
  return spawnSync('systemctl', ['show', `--property=${property}`, '--value', unit], { encoding: 'utf8' }).stdout.trim();
}

/**
 * The cgroup directories of the container whose init is `pid`, the memory
 * one (every controller's on v2) among them: podman's libpod-<id> (cgroupfs)
 * or machine.slice/libpod-<id>.scope (systemd). Hierarchies where the
 * process is elsewhere (a v1 name= hierarchy nobody manages) are left out.
 */
function containerCgroupDirs(pid: number, id: string): string[] {
  const dirs = cgroupDirsOfProcess(pid);
  const own = [...dirs.values()].filter((dir) => dir.endsWith(CGROUP_MANAGER === 'systemd' ? `/machine.slice/libpod-${id}.scope` : `/libpod-${id}`));
  const memory = dirs.get(UNIFIED ? '' : 'memory');
  assert.ok(memory !== undefined && own.includes(memory), `process ${pid} is in ${[...dirs.values()].join(' ')}`);
  return own;
}

const missing = missingBinary('podman', 'conmon');
const maybe = missing ? describe.skip : describe;

maybe(`podman with tsrun as the runtime${missing ? ` (skipped: ${missing} is not installed)` : ''}`, function () {
  // Under TCG (the VM suite) each podman command takes seconds.
  this.timeout(900000);
  let pm: Podman;
  const ulimits = ULIMITS;

  before(function () {
    this.timeout(600000);
    pm = new Podman();
    const tar = spawnSync('tar', ['-C', BUSYBOX_ROOTFS, '-c', '.'], { maxBuffer: 1 << 30 });
    assert.equal(tar.status, 0, String(tar.stderr));
    const r = spawnSync('podman', [...pm.global, 'import', '-', IMAGE], { input: tar.stdout, env: pm.env, encoding: 'utf8', timeout: 600000 });
    assert.equal(r.status, 0, r.stderr);
  });

  after(() => {
    if (!pm) return;
    pm.destroy();
    assert.deepEqual(existsSync(pm.dir) ? readdirSync(pm.dir) : [], [], 'podman temp dir left');
  });

  describe(`cgroups and init of this host (--cgroup-manager ${CGROUP_MANAGER})`, () => {
    it('run --rm prints the output and exits with the container status', async () => {
      const cidfile = pm.cidfile();
      const r = pm.run(['run', '--rm', '--network=none', ...ulimits, '--cidfile', cidfile, IMAGE, 'sh', '-c', 'echo hello; exit 3']);
      assert.equal(r.status, 3, describeResult(['podman run'], r));
      assert.equal(r.stdout, 'hello\n');
      assert.equal(r.stderr, '');
      const id = readFileSync(cidfile, 'utf8').trim();
      await pm.assertClean([id]);
    });

    it('run -d with --memory and --pids-limit: exec reads them in the container, rm -f leaves no cgroup (or scope)', async () => {
      const name = pm.name();
      pm.ok(['run', '-d', '--name', name, '--network=none', ...ulimits, '--memory', '64m', '--pids-limit', '50', IMAGE, 'sleep', '1000']);
      const { id, pid } = pm.inspect(name);
      const unit = `libpod-${id}.scope`;
      let own: string[] = [];
      try {
        own = containerCgroupDirs(pid, id);
        if (CGROUP_MANAGER === 'systemd') {
          assert.equal(unitProperty(unit, 'ControlGroup'), `/machine.slice/${unit}`);
          assert.equal(unitProperty(unit, 'Delegate'), 'yes');
        }
        // cgroup v1: no cgroup namespace, the container's own directories bound
        // per controller; v2: podman asks for a cgroup namespace (a cgroup2
        // mount rooted at the container's cgroup)
        const ex = pm.run(['exec', name, 'sh', '-c', `cat ${LIMIT_FILES.join(' ')}`]);
        assert.equal(ex.status, 0, describeResult(['podman exec cat'], ex));
        assert.equal(ex.stdout, `${64 * MIB}\n50\n`);
      } finally {
        pm.run(['rm', '-f', '-t', '0', name]);
      }
      assert.ok(await waitFor(() => !isAlive(pid), 20000), 'rm -f left the container process');
      assert.deepEqual(own.filter((dir) => existsSync(dir)), [], 'cgroups left');
      if (CGROUP_MANAGER === 'systemd') assert.equal(unitProperty(unit, 'LoadState'), 'not-found');
      await pm.assertClean([id], [pid]);
    });
  });

  describe('runtime features', () => {
    it('run -d, exec, pause/unpause, stop, then rm', async () => {
      const name = pm.name();
      const started = pm.ok(['run', '-d', '--name', name, '--network=none', ...ulimits, IMAGE, 'sleep', '1000']);
      const { id, pid } = pm.inspect(name);
      assert.equal(started.stdout.trim(), id);
      assert.ok(isAlive(pid), 'container process not running');

      const ex = pm.run(['exec', name, 'sh', '-c', 'echo in-exec $$; exit 4']);
      assert.equal(ex.status, 4, describeResult(['podman exec'], ex));
      assert.match(ex.stdout, /^in-exec \d+\n$/);

      pm.ok(['pause', name]);
      assert.equal(pm.ok(['inspect', '--format', '{{.State.Status}}', name]).stdout.trim(), 'paused');
      assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /State:\s+[SD]/);
      pm.ok(['unpause', name]);
      assert.equal(pm.ok(['inspect', '--format', '{{.State.Status}}', name]).stdout.trim(), 'running');

      const top = pm.ok(['top', name]);
      assert.match(top.stdout, /sleep 1000/);

      // sleep as pid 1 ignores SIGTERM: podman falls back to SIGKILL after 2 s
      const stop = pm.run(['stop', '-t', '2', name]);
      assert.equal(stop.status, 0, describeResult(['podman stop'], stop));
      assert.ok(await waitFor(() => !isAlive(pid), 10000), 'container process survived stop');
      assert.match(pm.ok(['inspect', '--format', '{{.State.Status}}', name]).stdout.trim(), /exited|stopped/);
      pm.ok(['rm', name]);
      await pm.assertClean([id], [pid]);
    });

    it('kill sends the signal, and rm -f removes a running container', async () => {
      const name = pm.name();
      pm.ok(['run', '-d', '--name', name, '--network=none', ...ulimits, IMAGE, 'sh', '-c', 'trap "exit 42" USR1; while :; do sleep 0.1; done']);
      const { id, pid } = pm.inspect(name);
      await waitFor(() => false, 300); // let the shell install its trap
      pm.ok(['kill', '--signal', 'USR1', name]);
      assert.ok(await waitFor(() => !isAlive(pid), 10000), 'kill USR1 did not end the container');
      const waited = pm.ok(['wait', name]);
      assert.equal(waited.stdout.trim(), '42');
      pm.ok(['rm', name]);

      const name2 = pm.name();
      pm.ok(['run', '-d', '--name', name2, '--network=none', ...ulimits, IMAGE, 'sleep', '1000']);
      const second = pm.inspect(name2);
      pm.ok(['kill', name2]);
      assert.ok(await waitFor(() => !isAlive(second.pid), 10000), 'kill did not end the container');
      pm.ok(['rm', name2]);

      const name3 = pm.name();
      pm.ok(['run', '-d', '--name', name3, '--network=none', ...ulimits, IMAGE, 'sleep', '1000']);
      const third = pm.inspect(name3);
      pm.ok(['rm', '-f', '-t', '0', name3]);
      assert.ok(await waitFor(() => !isAlive(third.pid), 10000), 'rm -f left the container process');
      await pm.assertClean([id, second.id, third.id], [pid, second.pid, third.pid]);
    });

    it('run --uidmap: a user namespace', async () => {
      const cidfile = pm.cidfile();
      const r = pm.run([
        'run', '--rm', '--network=none', ...ulimits, '--cidfile', cidfile, '--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', IMAGE,
        'sh', '-c', 'cat /proc/self/uid_map; id -u; stat -c %u /bin/busybox',
      ]);
      assert.equal(r.status, 0, describeResult(['podman run --uidmap'], r));
      assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), ['0 100000 65536', '0', '0']);
      await pm.assertClean([readFileSync(cidfile, 'utf8').trim()]);
    });

    it('run --tmpfs /etc: the tmpfs starts with the image\'s files (podman asks for tmpcopyup)', async () => {
      const cidfile = pm.cidfile();
      const r = pm.run([
        'run', '--rm', '--network=none', ...ulimits, '--cidfile', cidfile, '--tmpfs', '/etc', IMAGE,
        'sh', '-c', 'grep -c "^root:" /etc/passwd; echo x > /etc/new && echo wrote; grep " /etc " /proc/self/mountinfo | grep -c " - tmpfs "',
      ]);
      assert.equal(r.status, 0, describeResult(['podman run --tmpfs'], r));
      assert.deepEqual(r.stdout.trim().split('\n'), ['1', 'wrote', '1']);
      await pm.assertClean([readFileSync(cidfile, 'utf8').trim()]);
    });

    it('run --device and --privileged (device modes carry file-type bits)', async () => {
      const cidfile = pm.cidfile();
      const r = pm.run(['run', '--rm', '--network=none', ...ulimits, '--cidfile', cidfile, '--device', '/dev/null:/dev/mynull', IMAGE, 'stat', '-c', '%A %t,%T', '/dev/mynull']);
      assert.equal(r.status, 0, describeResult(['podman run --device'], r));
      assert.equal(r.stdout, 'crw-rw-rw- 1,3\n');
      const cidfile2 = pm.cidfile();
      const p = pm.run(['run', '--rm', '--network=none', ...ulimits, '--cidfile', cidfile2, '--privileged', IMAGE, 'sh', '-c', 'test -c /dev/kmsg && grep CapEff /proc/self/status']);
      assert.equal(p.status, 0, describeResult(['podman run --privileged'], p));
      assert.doesNotMatch(p.stdout, /CapEff:\s+0+\n/);
      await pm.assertClean([readFileSync(cidfile, 'utf8').trim(), readFileSync(cidfile2, 'utf8').trim()]);
    });

    it('restart, run -i (stdin), --init, --read-only, --cpus', async () => {
      const name = pm.name();
      pm.ok(['run', '-d', '--name', name, '--network=none', ...ulimits, IMAGE, 'sh', '-c', 'echo started; trap "exit 0" TERM; while :; do sleep 0.1; done']);
      const first = pm.inspect(name);
      pm.ok(['restart', '-t', '5', name]);
      const second = pm.inspect(name);
      assert.notEqual(second.pid, first.pid);
      assert.ok(await waitFor(() => pm.run(['logs', name]).stdout === 'started\nstarted\n', 5000), pm.run(['logs', name]).stdout);
      pm.ok(['stop', '-t', '5', name]);
      assert.equal(pm.ok(['inspect', '--format', '{{.State.ExitCode}}', name]).stdout.trim(), '0');
      pm.ok(['rm', name]);

      const cidfiles = [pm.cidfile(), pm.cidfile(), pm.cidfile()];
      const stdin = pm.run(['run', '--rm', '-i', '--network=none', ...ulimits, '--cidfile', cidfiles[0], IMAGE, 'cat'], { input: 'through stdin\n' });
      assert.equal(stdin.status, 0, describeResult(['podman run -i'], stdin));
      assert.equal(stdin.stdout, 'through stdin\n');
      if (which('catatonit') || existsSync('/usr/libexec/podman/catatonit')) {
        const init = pm.run(['run', '--rm', '--init', '--network=none', ...ulimits, '--cidfile', cidfiles[1], IMAGE, 'cat', '/proc/1/cmdline']);
        assert.equal(init.status, 0, describeResult(['podman run --init'], init));
        assert.match(init.stdout, /init/);
      }
      const ro = pm.run(['run', '--rm', '--read-only', '--cpus', '0.5', '--network=none', ...ulimits, '--cidfile', cidfiles[2], IMAGE, 'sh', '-c', 'touch /x || echo read-only']);
      assert.equal(ro.status, 0, describeResult(['podman run --read-only'], ro));
      assert.match(ro.stdout, /read-only/);
      await pm.assertClean([first.id, ...cidfiles.filter((f) => existsSync(f)).map((f) => readFileSync(f, 'utf8').trim())], [first.pid, second.pid]);
    });

    it('exec -t gives the process a terminal', async () => {
      const name = pm.name();
      pm.ok(['run', '-d', '--name', name, '--network=none', ...ulimits, IMAGE, 'sleep', '1000']);
      const { id, pid } = pm.inspect(name);
      try {
        const r = pm.run(['exec', '-t', name, 'tty']);
        assert.equal(r.status, 0, describeResult(['podman exec -t'], r));
        assert.match(r.stdout, /^\/dev\/pts\/\d+\r?\n$/);
      } finally {
        pm.run(['rm', '-f', '-t', '0', name]);
      }
      await pm.assertClean([id], [pid]);
    });

    it('run -t gives the container a terminal', async () => {
      const cidfile = pm.cidfile();
      const r = pm.run(['run', '--rm', '-t', '--network=none', ...ulimits, '--cidfile', cidfile, IMAGE, 'tty']);
      assert.equal(r.status, 0, describeResult(['podman run -t'], r));
      assert.equal(r.stdout, '/dev/pts/0\r\n');
      const id = existsSync(cidfile) ? readFileSync(cidfile, 'utf8').trim() : '';
      await pm.assertClean(id ? [id] : []);
    });

    it('a program that is not executable reaches the user as exit 126 (permission denied)', async () => {
      const cidfile = pm.cidfile();
      const r = pm.run(['run', '--rm', '--network=none', ...ulimits, '--cidfile', cidfile, IMAGE, '/etc/passwd']);
      assert.equal(r.status, 126, describeResult(['podman run /etc/passwd'], r));
      assert.match(r.stderr, /exec: "\/etc\/passwd": permission denied/);
      const id = existsSync(cidfile) ? readFileSync(cidfile, 'utf8').trim() : '';
      await pm.assertClean(id ? [id] : []);
    });

    it('a missing program reaches the user as exit 127 with the reason', async () => {
      const cidfile = pm.cidfile();
      const r = pm.run(['run', '--rm', '--network=none', ...ulimits, '--cidfile', cidfile, IMAGE, '/nonexistent']);
      assert.equal(r.status, 127, describeResult(['podman run /nonexistent'], r));
      assert.match(r.stderr, /\/nonexistent/);
      assert.match(r.stderr, /exec: "\/nonexistent": stat \/nonexistent: no such file or directory/);
      // podman read the message from the --log file (one JSON object), not from
      // tsrun's stderr (which conmon forwards, prefixed with "tsrun: ")
      assert.doesNotMatch(r.stderr, /tsrun: tsrun: /);
      assert.equal(r.stdout, '');
      const id = existsSync(cidfile) ? readFileSync(cidfile, 'utf8').trim() : '';
      await pm.assertClean(id ? [id] : []);
    });
  });
});
