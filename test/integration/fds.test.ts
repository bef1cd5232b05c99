// What the container process inherits: stdio, the --preserve-fds ones, and
// nothing else of the runtime's (a leaked fd is the CVE-2024-21626 class).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
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

  /** Runs the container with extra fds 3 and 4 open in tsrun; returns its stdout. */
  function runWithExtraFds(args: string[], preserve: number, fd3: number, fd4: number): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(TSRUN, ['--root', runtime.root, 'run', '--bundle', bundle!.dir, '--preserve-fds', String(preserve), uniqueId('fd')], {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe', fd3, fd4],
      timeout: 30000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  function tempFile(name: string): { path: string; fd: number } {
    const path = join(bundle!.dir, name);
    writeFileSync(path, '');
    const fd = openSync(path, 'r+');
    opened.push(fd);
    return { path, fd };
  }

  it('passes --preserve-fds N descriptors from 3 on, and closes the rest', () => {
    bundle = makeBundle(['sh', '-c', 'echo to-three >&3; ls /proc/$$/fd | sort -n | tr "\\n" " "']);
    const three = tempFile('three');
    const four = tempFile('four');
    const r = runWithExtraFds([], 1, three.fd, four.fd);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(three.path, 'utf8'), 'to-three\n');
    // 0-2, the preserved 3, and the fd ls opened on the directory: never 4.
    const fds = r.stdout.trim().split(' ').map(Number);
    assert.ok(fds.includes(3), r.stdout);
    assert.ok(!fds.includes(4), `fd 4 leaked into the container: ${r.stdout}`);
  });

  it('gives the container only stdio without --preserve-fds, and a cwd inside the rootfs', () => {
    // ls runs as a child, so it lists the shell's descriptors, not its own.
    bundle = makeBundle(['sh', '-c', 'ls /proc/$$/fd | sed "s|^|fd |"; echo "cwd=$(readlink /proc/$$/cwd)"']);
    const three = tempFile('three');
    const four = tempFile('four');
    const r = runWithExtraFds([], 0, three.fd, four.fd);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const fdLines = lines.filter((l) => l.startsWith('fd '));
    assert.deepEqual(
      fdLines.map((l) => l.slice(3)).sort(),
      ['0', '1', '2'],
      `unexpected descriptors in the container:\n${r.stdout}`,
    );
    assert.ok(lines.includes('cwd=/'), r.stdout);
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
