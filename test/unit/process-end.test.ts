// How a tsrun process ends (src/linux/exit.ts) and which file the cgroup
// move warm-up writes (src/cgroups/move-warmup.ts): pure parts, no root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownProcsFile } from '../../src/cgroups/move-warmup';
import type { CgroupLayout } from '../../src/cgroups/detect';

const EXIT_MODULE = join(__dirname, '..', '..', 'src', 'linux', 'exit.js');
const PROC_MODULE = join(__dirname, '..', '..', 'src', 'linux', 'proc.js');

/**
 * Runs `body` in a fresh node after loading exitNowIfIdle; `beforeExit` and
 * `after` are printed only by a process that did not end in _exit there.
 */
function runEnding(body: string, nodeFlags: string[] = []): { status: number | null; stdout: string } {
  const script = [
    `const { exitNowIfIdle } = require(${JSON.stringify(EXIT_MODULE)});`,
    `const proc = require(${JSON.stringify(PROC_MODULE)});`,
    `process.on('beforeExit', () => process.stdout.write('beforeExit\\n'));`,
    body,
    `process.stdout.write('after\\n');`,
  ].join('\n');
  const r = spawnSync(process.execPath, [...nodeFlags, '-e', script], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

describe('ending a tsrun process', () => {
  it('ends at once with the status given when libc is loaded and nothing is left to run', () => {
    const r = runEnding(`proc.currentPid(); process.stdout.write('output\\n'); exitNowIfIdle(7);`);
    assert.equal(r.status, 7);
    // What was written stays written; nothing after the call runs, nor node's own exit path.
    assert.equal(r.stdout, 'output\n');
  });

  it('leaves the ending to node while a timer is pending', () => {
    const r = runEnding(`proc.currentPid(); setTimeout(() => process.stdout.write('timer\\n'), 10); exitNowIfIdle(7);`);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'after\ntimer\nbeforeExit\n');
  });

  it('leaves the ending to node when an exit listener is there', () => {
    const r = runEnding(`proc.currentPid(); process.on('exit', () => process.stdout.write('exit listener\\n')); exitNowIfIdle(7);`);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'after\nbeforeExit\nexit listener\n');
  });

  it('leaves the ending to node when node writes a CPU profile at exit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-exit-prof-'));
    try {
      const r = runEnding(`proc.currentPid(); exitNowIfIdle(7);`, ['--cpu-prof', '--cpu-prof-dir', dir]);
      assert.equal(r.status, 0);
      assert.equal(readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not load libc for it', () => {
    const r = runEnding(`exitNowIfIdle(7);`);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'after\nbeforeExit\n');
  });
});

describe('cgroup move warm-up: the file it writes', () => {
  const v1Mounts = new Map([
    ['cpu', '/sys/fs/cgroup/cpu'],
    ['pids', '/sys/fs/cgroup/pids'],
  ]);

  it('unified: the own cgroup in the cgroup2 mount', () => {
    const layout: CgroupLayout = { version: 'v2', unifiedMount: '/sys/fs/cgroup', v1Mounts: new Map() };
    assert.equal(ownProcsFile(layout, new Map([['', '/user.slice/session-1.scope']])), '/sys/fs/cgroup/user.slice/session-1.scope/cgroup.procs');
  });

  it('hybrid: the cgroup2 mount too (it holds no controller, the lock is shared)', () => {
    const layout: CgroupLayout = { version: 'v1', unifiedMount: '/sys/fs/cgroup/unified', v1Mounts };
    const own = new Map([['', '/'], ['cpu', '/a'], ['pids', '/b']]);
    assert.equal(ownProcsFile(layout, own), '/sys/fs/cgroup/unified/cgroup.procs');
  });

  it('v1 alone: the first hierarchy this process has a line for', () => {
    const layout: CgroupLayout = { version: 'v1', v1Mounts };
    assert.equal(ownProcsFile(layout, new Map([['pids', '/b']])), '/sys/fs/cgroup/pids/b/cgroup.procs');
  });

  it('none when no mounted hierarchy holds this process', () => {
    const layout: CgroupLayout = { version: 'v1', v1Mounts };
    assert.equal(ownProcsFile(layout, new Map([['memory', '/c']])), undefined);
  });
});
