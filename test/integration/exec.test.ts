// `tsrun exec`: a process joins a live container's namespaces, root and
// cgroup, with the config's process or flags or a --process file; exit codes,
// signals, --detach and --pid-file, no runtime fd leaks, errors that leave
// nothing behind. Checked from inside the container and from the host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, openSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../../src/spec/types';
import { TSRUN, type Bundle } from '../helpers/harness';
import { acceptUnix, listenUnix, recvFds, waitReadable } from '../../src/linux/unix-socket';
import { closeFd, readFd } from '../../src/linux/fd';
import { Session, cgroupDirsOf, cmdline, isAlive, nonEmptyLines, procStatus, processesInPidNamespaceOf, waitFor } from '../helpers/session';

const NAMESPACES = ['pid', 'net', 'mnt', 'uts', 'ipc', 'cgroup'];

/** Polls without giving the event loop a turn (the check is a file read). */
function waitForSync(check: () => boolean, timeoutMs = 5000): boolean {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    spawnSync('sleep', ['0.02']);
  }
  return true;
}

describe('exec', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  /** A started container whose init sleeps; returns its id, init pid and bundle. */
  function sleeper(mutate?: (spec: Spec) => void, prepare?: (bundle: Bundle) => void): { id: string; pid: number; bundle: Bundle } {
    const bundle = s.bundle(['sleep', '1000'], mutate);
    prepare?.(bundle);
    const id = s.id('ex');
    const { pid } = s.create(id, bundle);
    s.ok(['start', id]);
    return { id, pid, bundle };
  }

  /** Host pids in the container's cgroup (the first controller directory found). */
  function cgroupPids(id: string): number[] {
    const dir = cgroupDirsOf(id).find((d) => d.includes('/pids/')) ?? cgroupDirsOf(id)[0];
    return nonEmptyLines(readFileSync(join(dir, 'cgroup.procs'), 'utf8')).map(Number);
  }

  it('joins the init namespaces and cgroup, with the container hostname and /proc', () => {
    const c = sleeper();
    const script = `hostname; for n in ${NAMESPACES.join(' ')}; do readlink /proc/self/ns/$n; done; echo "pid $$"; cat /proc/1/cmdline | tr "\\0" " "; echo; cat /proc/self/cgroup; echo --; cat /proc/1/cgroup`;
    const r = s.ok(['exec', c.id, 'sh', '-c', script]);
    const out = r.stdout.split('\n');
    assert.equal(out[0], 'tsrun');
    NAMESPACES.forEach((n, i) => assert.equal(out[1 + i], readlinkSync(`/proc/${c.pid}/ns/${n}`), `namespace ${n}`));
    const pidLine = out[1 + NAMESPACES.length];
    assert.match(pidLine, /^pid \d+$/);
    assert.notEqual(pidLine, 'pid 1', 'the exec process is not the init');
    assert.equal(out[2 + NAMESPACES.length].trim(), 'sleep 1000', 'pid 1 in its /proc is the init');
    // Seen through the container's cgroup namespace: the same cgroups as the init's (from the host: the --detach test).
    const [own, init] = out.slice(3 + NAMESPACES.length).join('\n').split('--\n');
    assert.equal(own, init);
    assert.match(own, /^\d+:[^:]*:\/$/m);
    assert.equal(r.stderr, '');
  });

  it('uses the config cwd and env, and --cwd and --env over them', () => {
    const c = sleeper((spec) => spec.process!.env!.push('FROM_CONFIG=yes', 'OVERRIDDEN=old'));
    const plain = s.ok(['exec', c.id, 'sh', '-c', 'pwd; readlink /proc/$$/cwd; echo "$FROM_CONFIG $PATH"']);
    assert.deepEqual(nonEmptyLines(plain.stdout), ['/', '/', 'yes /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    const flags = s.ok(['exec', '--cwd', '/etc', '-e', 'OVERRIDDEN=new', '--env', 'EXTRA=1', c.id, 'sh', '-c', 'pwd; echo "$OVERRIDDEN $EXTRA $FROM_CONFIG"; env | grep -c ^OVERRIDDEN=']);
    assert.deepEqual(nonEmptyLines(flags.stdout), ['/etc', 'new 1 yes', '1']);
  });

  it('runs as --user UID:GID with --additional-gids', () => {
    const c = sleeper();
    const r = s.ok(['exec', '--user', '1000:1000', '-g', '10', '--additional-gids', '20', c.id, 'sh', '-c', 'id -u; id -g; id -G']);
    assert.deepEqual(nonEmptyLines(r.stdout), ['1000', '1000', '1000 10 20']);
    const bad = s.exec(['exec', '--user', 'nobody', c.id, 'true']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /parsing nobody as int for uid failed/);
  });

  it('adds --cap capabilities to the config ones', () => {
    const c = sleeper();
    const capEff = (out: string): bigint => BigInt('0x' + (/CapEff:\s*([0-9a-f]+)/.exec(out)?.[1] ?? 'x'));
    const CAP_NET_ADMIN = 12n;
    const plain = capEff(s.ok(['exec', c.id, 'cat', '/proc/self/status']).stdout);
    assert.equal((plain >> CAP_NET_ADMIN) & 1n, 0n);
    const added = capEff(s.ok(['exec', '--cap', 'CAP_NET_ADMIN', c.id, 'cat', '/proc/self/status']).stdout);
    assert.equal((added >> CAP_NET_ADMIN) & 1n, 1n);
    assert.equal(added & ~(1n << CAP_NET_ADMIN), plain, 'the config capabilities are kept');
  });

  it('sets no_new_privs for --no-new-privs, and not without it when the config has none', () => {
    const c = sleeper((spec) => (spec.process!.noNewPrivileges = false));
    const grep = ['grep', 'NoNewPrivs', '/proc/self/status'];
    assert.match(s.ok(['exec', c.id, ...grep]).stdout, /NoNewPrivs:\s*0/);
    assert.match(s.ok(['exec', '--no-new-privs', c.id, ...grep]).stdout, /NoNewPrivs:\s*1/);
  });

  it('exits with the process exit code, or 128+N for signal N', () => {
    const c = sleeper();
    assert.equal(s.exec(['exec', c.id, 'sh', '-c', 'exit 5']).status, 5);
    assert.equal(s.exec(['exec', c.id, 'sh', '-c', 'kill -KILL $$']).status, 137);
    assert.deepEqual(cgroupPids(c.id), [c.pid], 'only the init is left in the cgroup');
  });

  it('forwards signals to the process in the foreground', async () => {
    const c = sleeper();
    const run = s.spawn(['exec', c.id, 'sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done']);
    assert.ok(await waitFor(() => run.stdout().includes('ready'), 10000), 'never ready');
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.status, 7, r.stderr);
  });

  it('--detach --pid-file returns at once, leaving the process running in the container cgroup, not a tsrun child', () => {
    const c = sleeper();
    const pidFile = join(c.bundle.dir, 'exec.pid');
    const r = s.ok(['exec', '--detach', '--pid-file', pidFile, c.id, 'sleep', '500']);
    const text = readFileSync(pidFile, 'utf8');
    assert.match(text, /^\d+$/, 'digits, no newline');
    const pid = Number(text);
    s.track(pid);
    assert.ok(isAlive(pid));
    assert.equal(cmdline(pid), 'sleep 500');
    assert.equal(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'));
    assert.ok(cgroupPids(c.id).includes(pid));
    const parent = Number(procStatus(pid, 'PPid'));
    assert.ok(!cmdline(parent).includes('tsrun') && !cmdline(parent).includes('main.js'), `parent ${parent}: ${cmdline(parent)}`);
    assert.equal(r.stderr, '');
  });

  it('runs a --process FILE (runtime-spec process JSON) and names the file in its errors', () => {
    const c = sleeper();
    const file = join(c.bundle.dir, 'process.json');
    const proc = { args: ['sh', '-c', 'echo "$A $(id -u) $(pwd)"'], env: ['A=from-file', 'PATH=/bin:/sbin'], cwd: '/tmp', user: { uid: 1234, gid: 1234 } };
    writeFileSync(file, JSON.stringify(proc));
    assert.equal(s.ok(['exec', '--process', file, c.id]).stdout, 'from-file 1234 /tmp\n');
    writeFileSync(file, JSON.stringify({ ...proc, cwd: 'relative' }));
    const bad = s.exec(['exec', '--process', file, c.id]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /process\.json: \/cwd: must be an absolute path/);
  });

  describe('process.execCPUAffinity', () => {
    const cpusAllowed = (text: string): string => /Cpus_allowed_list:\s*(\S+)/.exec(text)?.[1] ?? '';
    const online = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();

    it("runs the exec'd process on the final CPUs, after the initial ones before the cgroup move (--debug log)", function () {
      if (!/^0-[1-9]/.test(online)) this.skip(); // needs two CPUs: skipped, named by this line
      const c = sleeper();
      const file = join(c.bundle.dir, 'process.json');
      const log = join(c.bundle.dir, 'exec.log');
      const proc = { args: ['cat', '/proc/self/status'], cwd: '/', user: { uid: 0, gid: 0 }, execCPUAffinity: { initial: '1', final: '0' } };
      writeFileSync(file, JSON.stringify(proc));
      assert.equal(cpusAllowed(s.ok(['--debug', '--log', log, 'exec', '--process', file, c.id]).stdout), '0');
      assert.match(readFileSync(log, 'utf8'), /CPU affinity 1 before joining the container's cgroup/);
    });

    it("without final, returns the exec'd process to the container's CPUs (the init's)", function () {
      if (!/^0-[1-9]/.test(online)) this.skip(); // needs two CPUs: skipped, named by this line
      const c = sleeper((spec) => (spec.process!.execCPUAffinity = { initial: '1' }));
      const init = cpusAllowed(readFileSync(`/proc/${c.pid}/status`, 'utf8'));
      assert.equal(cpusAllowed(s.ok(['exec', c.id, 'cat', '/proc/self/status']).stdout), init);
    });

    it('refuses a malformed list at create and a CPU the host lacks at exec, in one line, leaving nothing', () => {
      const bad = s.bundle(['true'], (spec) => (spec.process!.execCPUAffinity = { final: '0,3-1' }));
      const r = s.exec(['create', '--bundle', bad.dir, s.id('aff')]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^tsrun: config\.json: \/process\/execCPUAffinity\/final: range "3-1" ends before it starts$/m);
      assert.equal(nonEmptyLines(r.stderr).length, 1);
      const c = sleeper();
      const file = join(c.bundle.dir, 'process.json');
      writeFileSync(file, JSON.stringify({ args: ['true'], cwd: '/', user: { uid: 0, gid: 0 }, execCPUAffinity: { initial: '4000' } }));
      const before = cgroupPids(c.id).length;
      const e = s.exec(['exec', '--process', file, c.id]);
      assert.equal(e.status, 1);
      assert.match(e.stderr, /sched_setaffinity\(process\.execCPUAffinity\.initial "4000" for pid \d+\): EINVAL/);
      assert.equal(nonEmptyLines(e.stderr).length, 1);
      assert.equal(cgroupPids(c.id).length, before);
    });
  });

  it('gives the process only stdio, and --preserve-fds N descriptors from 3', () => {
    const c = sleeper();
    const three = join(c.bundle.dir, 'three');
    const four = join(c.bundle.dir, 'four');
    writeFileSync(three, '');
    writeFileSync(four, '');
    const fds = [openSync(three, 'r+'), openSync(four, 'r+')];
    /** An exec'd shell (detached, with fds 3 and 4 open in tsrun) whose descriptors are read from the host. */
    const shellFds = (preserve: number): string[] => {
      const pidFile = join(c.bundle.dir, `sh-${preserve}.pid`);
      // `; true`: the shell stays itself instead of exec'ing its last command.
      const script = '[ -e /proc/$$/fd/3 ] && echo "hi $(readlink /proc/$$/cwd)" >&3; sleep 100; true';
      const args = ['--root', s.root, 'exec', '-d', '--pid-file', pidFile, '--preserve-fds', String(preserve), c.id, 'sh', '-c', script];
      // Files, not pipes: the detached shell holds tsrun's stdio, and a pipe would keep spawnSync waiting.
      const errPath = join(c.bundle.dir, `sh-${preserve}.err`);
      const err = openSync(errPath, 'w');
      const r = spawnSync(TSRUN, args, { stdio: ['ignore', err, err, fds[0], fds[1]], timeout: 30000 });
      closeSync(err);
      assert.equal(r.status, 0, readFileSync(errPath, 'utf8'));
      const pid = Number(readFileSync(pidFile, 'utf8'));
      s.track(pid);
      return readdirSync(`/proc/${pid}/fd`).sort();
    };
    try {
      assert.deepEqual(shellFds(0), ['0', '1', '2']);
      assert.deepEqual(shellFds(1), ['0', '1', '2', '3']);
      assert.ok(waitForSync(() => readFileSync(three, 'utf8') === 'hi /\n'), readFileSync(three, 'utf8'));
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
  });

  it('reports a missing program in runc words, exits 1 and leaves no process', () => {
    const c = sleeper();
    const r = s.exec(['exec', c.id, 'no-such-program', 'arg']);
    assert.equal(r.status, 1);
    // runc's words (podman and containerd look for them), behind the step that failed.
    assert.deepEqual(nonEmptyLines(r.stderr), ['tsrun: exec: step "find program": exec: "no-such-program": executable file not found in $PATH']);
    assert.equal(r.stdout, '');
    assert.deepEqual(processesInPidNamespaceOf(c.pid), [c.pid]);
    assert.deepEqual(cgroupPids(c.id), [c.pid]);
    const badCwd = s.exec(['exec', '--cwd', '/no/such/dir', c.id, 'true']);
    assert.equal(badCwd.status, 1);
    assert.equal(nonEmptyLines(badCwd.stderr).length, 1, badCwd.stderr);
    assert.match(badCwd.stderr, /^tsrun: exec: step "cwd": chdir\(\/no\/such\/dir\): ENOENT$/m);
    assert.deepEqual(cgroupPids(c.id), [c.pid]);
  });

  it('refuses a stopped, paused or missing container; a created one is allowed, as runc does', async () => {
    const bundle = s.bundle(['true']);
    const created = s.id('ex');
    s.create(created, bundle);
    assert.equal(s.ok(['exec', created, 'echo', 'in-created']).stdout, 'in-created\n');
    s.ok(['start', created]);
    assert.ok(await waitFor(() => s.state(created).status === 'stopped'), 'never stopped');
    const stopped = s.exec(['exec', created, 'true']);
    assert.equal(stopped.status, 1);
    assert.match(stopped.stderr, /cannot exec in a stopped container/);
    const missing = s.exec(['exec', 'no-such-container', 'true']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /container "no-such-container" does not exist/);
    const c = sleeper();
    s.ok(['pause', c.id]);
    const paused = s.exec(['exec', c.id, 'true']);
    assert.equal(paused.status, 1);
    assert.match(paused.stderr, /cannot exec in a paused container \(use --ignore-paused to override\)/);
    s.ok(['resume', c.id]);
  });

  it('enters a container with its own user namespace', () => {
    const HOST_BASE = 100000;
    const c = sleeper((spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: HOST_BASE, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: HOST_BASE, size: 65536 }];
    }, (bundle) => {
      // The mapped root must reach the bundle (0700 from mkdtemp) and own its rootfs.
      chmodSync(bundle.dir, 0o711);
      const chown = spawnSync('chown', ['-R', `${HOST_BASE}:${HOST_BASE}`, bundle.rootfs], { encoding: 'utf8' });
      assert.equal(chown.status, 0, chown.stderr);
    });
    assert.notEqual(readlinkSync(`/proc/${c.pid}/ns/user`), readlinkSync('/proc/self/ns/user'));
    const r = s.ok(['exec', c.id, 'sh', '-c', 'readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; echo "status $(grep ^Uid /proc/self/status)"; sleep 0.2']);
    const out = nonEmptyLines(r.stdout);
    assert.equal(out[0], readlinkSync(`/proc/${c.pid}/ns/user`));
    assert.equal(out[1].trim().split(/\s+/).join(' '), readFileSync(`/proc/${c.pid}/uid_map`, 'utf8').trim().split(/\s+/).join(' '));
    assert.equal(out[2], '0');
    const user = s.ok(['exec', '-u', '1000:1000', '-d', '--pid-file', join(c.bundle.dir, 'u.pid'), c.id, 'sleep', '100']);
    assert.equal(user.stderr, '');
    const pid = Number(readFileSync(join(c.bundle.dir, 'u.pid'), 'utf8'));
    s.track(pid);
    assert.deepEqual(procStatus(pid, 'Uid')?.split(/\s+/).map(Number), [HOST_BASE + 1000, HOST_BASE + 1000, HOST_BASE + 1000, HOST_BASE + 1000]);
  });

  it('applies the container seccomp filter; a notify agent gets the exec process state', async () => {
    const agentPath = join(s.bundle().dir, 'agent.sock');
    const open: number[] = [listenUnix(agentPath, { nonblocking: true })];
    /** The next connection's one message: the listener fd and the state JSON. */
    const nextMessage = async (): Promise<{ state: { pid: number; state: { pid: number; status: string } }; fds: number[] }> => {
      let conn: number | null = null;
      assert.ok(await waitFor(() => (conn = acceptUnix(open[0], { nonblocking: true })) !== null, 10000), 'no connection');
      open.push(conn!);
      assert.ok(await waitFor(() => waitReadable(conn!, 0), 10000), 'no message');
      const message = recvFds(conn!, 64 * 1024, 4)!;
      open.push(...message.fds);
      return { state: JSON.parse(message.payload.toString()), fds: message.fds };
    };
    try {
      const c = sleeper((spec) => {
        spec.linux!.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          listenerPath: agentPath,
          syscalls: [
            { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' },
            { names: ['rmdir'], action: 'SCMP_ACT_NOTIFY' },
          ],
        };
      });
      assert.equal((await nextMessage()).state.pid, c.pid, "the init's own listener");
      const r = s.ok(['exec', c.id, 'sh', '-c', 'mkdir /tmp/x 2>&1; grep ^Seccomp: /proc/self/status']);
      assert.match(r.stdout, /Operation not permitted/);
      assert.match(r.stdout, /Seccomp:\s*2/);
      const exec = await nextMessage();
      assert.equal(exec.fds.length, 1);
      assert.notEqual(exec.state.pid, c.pid, 'the top-level pid is the exec process');
      assert.deepEqual({ pid: exec.state.state.pid, status: exec.state.state.status }, { pid: c.pid, status: 'running' });
    } finally {
      open.forEach((fd) => closeFd(fd));
    }
  });

  it('gives --tty a terminal: the master to --console-socket when detached, relayed in the foreground', async () => {
    const c = sleeper();
    const sockPath = join(c.bundle.dir, 'console.sock');
    const open: number[] = [listenUnix(sockPath)];
    try {
      s.ok(['exec', '-t', '-d', '--console-socket', sockPath, c.id, 'sh', '-c', 'tty; [ -t 0 ] && [ -t 2 ] && echo stdio-is-tty; sleep 0.5']);
      assert.ok(waitReadable(open[0], 5000), 'nobody connected to the console socket');
      const conn = acceptUnix(open[0]) as number;
      open.push(conn);
      const got = recvFds(conn, 256, 4)!;
      open.push(...got.fds);
      assert.equal(got.fds.length, 1);
      let text = '';
      assert.ok(await waitFor(() => {
        if (waitReadable(got.fds[0], 0)) text += readFd(got.fds[0], 4096).toString();
        return text.includes('stdio-is-tty');
      }, 10000), text);
      assert.match(text, /^\/dev\/pts\/\d+\r?\n/);
    } finally {
      open.forEach((fd) => closeFd(fd));
    }
    const fg = s.exec(['exec', '--tty', c.id, 'sh', '-c', 'tty; exit 3']);
    assert.equal(fg.status, 3, fg.stderr);
    assert.match(fg.stdout, /^\/dev\/pts\/\d+\r\n$/);
    const refused = s.exec(['exec', '-t', '-d', c.id, 'true']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /cannot allocate tty if tsrun will detach without setting console socket/);
  });

  it('leaves nothing behind once the container is deleted', () => {
    const c = sleeper();
    s.ok(['exec', '-d', c.id, 'sleep', '300']);
    s.ok(['delete', '--force', c.id]);
    assert.deepEqual(s.leftovers(c.bundle, c.id), []);
  });
});
