// What the container process inherits: stdio, the --preserve-fds ones, and
// nothing else of the runtime's (a leaked fd is the CVE-2024-21626 class).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime, TSRUN, makeBundle, uniqueId, type Bundle } from '../helpers/harness';

describe('file descriptors', function () {
  let runtime: Runtime;
  let bundle: Bundle | undefined;
  const opened: number[] = [];

  beforeEach(() => {
    runtime = new Runtime();
  });
  afterEach(() => {
    for (const fd of opened.splice(0)) closeSync(fd);
    bundle?.remove();
    bundle = undefined;
    runtime.destroy();
  });

  /**
   * Runs the container detached with extra fds 3 and 4 open in tsrun and
   * returns the descriptors its program holds, read from the host: the
   * program is `sleep` (exec'd by sh), which opens nothing of its own.
   */
  function programFds(script: string, preserve: number, fd3: number, fd4: number): string[] {
    const id = uniqueId('fd');
    bundle!.writeConfig(withScript(`${script}; exec sleep 30`));
    // stderr to a file: the container inherits it, and a pipe would keep spawnSync waiting.
    const errPath = join(bundle!.dir, 'stderr');
    const errFd = openSync(errPath, 'w');
    opened.push(errFd);
    const r = spawnSync(TSRUN, ['--root', runtime.root, 'run', '--detach', '--bundle', bundle!.dir, '--preserve-fds', String(preserve), id], {
      stdio: ['ignore', 'ignore', errFd, fd3, fd4],
      timeout: 30000,
    });
    assert.equal(r.status, 0, readFileSync(errPath, 'utf8'));
    const pid = runtime.state(id).pid;
    // sh execs sleep right after the script: wait for that.
    for (let i = 0; i < 200 && !readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('sleep'); i++) spawnSync('sleep', ['0.01']);
    return readdirSync(`/proc/${pid}/fd`).sort();
  }

  function withScript(script: string): unknown {
    const config = JSON.parse(readFileSync(bundle!.configPath, 'utf8'));
    config.process.args = ['sh', '-c', script];
    return config;
  }

  function tempFile(name: string): { path: string; fd: number } {
    const path = join(bundle!.dir, name);
    writeFileSync(path, '');
    const fd = openSync(path, 'r+');
    opened.push(fd);
    return { path, fd };
  }

  it('passes --preserve-fds N descriptors from 3 on, and closes the rest', () => {
    bundle = makeBundle();
    const three = tempFile('three');
    const four = tempFile('four');
    const fds = programFds('echo to-three >&3', 1, three.fd, four.fd);
    assert.equal(readFileSync(three.path, 'utf8'), 'to-three\n');
    assert.deepEqual(fds, ['0', '1', '2', '3'], `fd 4 or a runtime fd leaked: ${fds}`);
  });

  it('gives the container only stdio without --preserve-fds', () => {
    bundle = makeBundle();
    const three = tempFile('three');
    const four = tempFile('four');
    const fds = programFds('true', 0, three.fd, four.fd);
    assert.deepEqual(fds, ['0', '1', '2'], `unexpected descriptors in the container: ${fds}`);
  });

  it('closes the runtime fds even when the seccomp profile refuses close_range', () => {
    bundle = makeBundle();
    const config = JSON.parse(readFileSync(bundle.configPath, 'utf8'));
    // Without no_new_privs the filter is loaded before the fd clean-up.
    config.process.noNewPrivileges = false;
    config.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['close_range'], action: 'SCMP_ACT_ERRNO' }] };
    bundle.writeConfig(config);
    const three = tempFile('three');
    const four = tempFile('four');
    const fds = programFds('true', 0, three.fd, four.fd);
    assert.deepEqual(fds, ['0', '1', '2'], `unexpected descriptors in the container: ${fds}`);
  });

  it('leaves the waiting init no descriptor of the state root but its start fifo (no lock file)', () => {
    bundle = makeBundle(['true']);
    const id = uniqueId('fdinit');
    const r = spawnSync(TSRUN, ['--root', runtime.root, 'create', '--bundle', bundle.dir, id], { stdio: 'ignore', timeout: 30000 });
    assert.equal(r.status, 0);
    const pid = runtime.state(id).pid;
    const targets = readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
    const inRoot = targets.filter((t) => t.startsWith(runtime.root + '/'));
    assert.deepEqual(
      inRoot.filter((t) => t !== join(runtime.root, id, 'exec.fifo')),
      [],
      `the waiting init holds: ${targets.join(', ')}`,
    );
  });

  it('hands stdin, stdout and stderr through, blocking (not O_NONBLOCK) for the program', () => {
    bundle = makeBundle(['sh', '-c', 'cat; echo err >&2; grep flags /proc/self/fdinfo/1']);
    const r = spawnSync(TSRUN, ['--root', runtime.root, 'run', '--bundle', bundle.dir, uniqueId('stdio')], {
      encoding: 'utf8',
      input: 'from-stdin\n',
      timeout: 30000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^from-stdin\n/);
    assert.equal(r.stderr, 'err\n');
    const flags = parseInt(/flags:\s+(\d+)/.exec(r.stdout)?.[1] ?? 'x', 8);
    assert.equal(flags & 0o4000, 0, `stdout is O_NONBLOCK in the container: ${r.stdout}`);
  });
});
