// The launcher (bin/tsrun, written by hack/make-launcher.js): node starts
// clean whatever the caller's environment, each verb runs from what was
// measured fastest for it (a bundle and its code cache, or a startup
// snapshot), a snapshot only with the node binary it was built by, and hooks
// and containers still get exactly the environment config.json gives them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from '../helpers/session';
import { REPO, TSRUN, tempDir } from '../helpers/harness';
import type { Spec } from '../../src/spec/types';

const READ_BLOB = join(REPO, 'dist', 'snapshot', 'read.blob');
const FULL_BLOB = join(REPO, 'dist', 'snapshot', 'full.blob');
const NODE_REF = join(REPO, 'dist', 'snapshot', 'node.ref');
const CACHED_START = join(REPO, 'dist', 'src', 'cli', 'cached-start.js');
const NODE_FLAGS = ['--single-threaded', '--expose-gc', '--no-warnings'];

/** Variables that would stop node, or slow it, were they passed on. */
const HOSTILE_NODE_ENV = {
  NODE_OPTIONS: '--require /nonexistent/tsrun-test-preload.js',
  NODE_EXTRA_CA_CERTS: '/nonexistent/tsrun-test-ca.pem',
  NODE_PATH: '/nonexistent',
};

/** `sh -x` of a launcher: what it would exec, seen in its trace. */
function traceLauncher(launcher: string, args: string[]): { status: number | null; trace: string; stdout: string } {
  const r = spawnSync('/bin/sh', ['-x', launcher, ...args], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, trace: r.stderr, stdout: r.stdout };
}

describe('launcher', function () {
  let s: Session;
  let dir: string;

  beforeEach(() => {
    s = new Session();
    dir = tempDir('tsrun-launcher-');
  });
  afterEach(() => {
    s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts node clean: a NODE_OPTIONS that would stop node, NODE_EXTRA_CA_CERTS and NODE_PATH do not reach it', () => {
    const env = { ...process.env, ...HOSTILE_NODE_ENV };
    const version = s.exec(['--version'], { env });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^tsrun version /);
    const b = s.bundle(['true']);
    const run = s.exec(['run', '--bundle', b.dir, s.id('clean')], { env });
    assert.equal(run.status, 0, run.stderr);
  });

  it('gives hooks and the container exactly the environment config.json names, whatever the caller has', () => {
    const hookEnv = join(dir, 'hook-env');
    const b = s.bundle(['env'], (spec: Spec) => {
      spec.process!.env = ['PATH=/bin:/usr/bin', 'ONLY=container'];
      // The hook's stdout goes nowhere: sh writes env's to a file (sh itself adds PWD).
      spec.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `exec /usr/bin/env > ${hookEnv}`], env: ['ONLY=hook'] }] };
    });
    const run = s.exec(['run', '--bundle', b.dir, s.id('envs')], { env: { ...process.env, ...HOSTILE_NODE_ENV, CALLER_ONLY: 'yes' } });
    assert.equal(run.status, 0, run.stderr);
    // HOME is the runtime's addition when config.json has none, as runc's.
    assert.deepEqual(run.stdout.trim().split('\n').sort(), ['HOME=/root', 'ONLY=container', 'PATH=/bin:/usr/bin']);
    const hookVars = readFileSync(hookEnv, 'utf8').trim().split('\n').filter((v) => !v.startsWith('PWD='));
    assert.deepEqual(hookVars, ['ONLY=hook']);
  });

  it('runs each verb from its bundle and code cache or its snapshot, and a snapshot only with the node binary it was built by', () => {
    assert.ok(existsSync(READ_BLOB) && existsSync(FULL_BLOB) && existsSync(NODE_REF), 'npm run build made the snapshots on this machine');
    const cached = (bundle: string, cache: string) => new RegExp(`exec \\S+ .*dist/src/cli/cached-start\\.js \\S*dist/${bundle} \\S*dist/${cache} `);
    for (const verb of [['list'], ['state', 'missing']]) {
      const r = traceLauncher(TSRUN, ['--root', s.root, ...verb]);
      assert.match(r.trace, cached('read\\.js', 'read\\.js\\.cache'), verb[0]);
      assert.doesNotMatch(r.trace, /--snapshot-blob/);
    }
    for (const verb of [['start', 'missing'], ['delete', 'missing'], ['kill', 'missing', 'TERM']]) {
      const r = traceLauncher(TSRUN, ['--root', s.root, ...verb]);
      assert.notEqual(r.status, 0);
      assert.match(r.trace, cached('lifecycle\\.js', 'lifecycle\\.js\\.cache'), verb[0]);
    }
    const ps = traceLauncher(TSRUN, ['--root', s.root, 'ps', 'missing']);
    assert.match(ps.trace, /exec \S+ .*--snapshot-blob \S*read\.blob/);
    const run = traceLauncher(TSRUN, ['--root', s.root, 'run', '--bundle', join(dir, 'none'), 'x']);
    assert.notEqual(run.status, 0);
    assert.match(run.trace, /exec \S+ .*--snapshot-blob \S*full\.blob/);
    // create leaves an init waiting: it runs the bundle, whose heap is smaller, in V8's lite mode, from its own cache.
    const create = traceLauncher(TSRUN, ['--root', s.root, '--log-format', 'text', 'create', '--bundle', join(dir, 'none'), 'x']);
    assert.notEqual(create.status, 0);
    assert.doesNotMatch(create.trace, /--snapshot-blob/);
    assert.match(create.trace, /exec \S+ .*--lite-mode .*cached-start\.js \S*dist\/tsrun\.js \S*dist\/tsrun\.js\.create-cache /);
    // The same launcher where node.ref is another file (node upgraded since the build): the bundle.
    const otherNode = join(dir, 'other-node');
    writeFileSync(otherNode, '');
    const moved = join(dir, 'tsrun');
    writeFileSync(moved, readFileSync(TSRUN, 'utf8').split(NODE_REF).join(otherNode));
    chmodSync(moved, 0o755);
    const fallback = traceLauncher(moved, ['--version']);
    assert.equal(fallback.status, 0, fallback.trace);
    assert.match(fallback.stdout, /^tsrun version /);
    assert.doesNotMatch(fallback.trace, /exec \S+ .*--snapshot-blob/);
  });

  /** Runs `calls` from a partial bundle, plain and from its code cache, and from the full CLI: the same status, stdout and stderr. */
  function assertAnswersAsTheFullCli(bundle: string, calls: string[][]): void {
    const partial = join(REPO, 'dist', bundle);
    for (const call of calls) {
      const args = ['--root', s.root, ...call];
      const full = spawnSync(process.execPath, [...NODE_FLAGS, join(REPO, 'dist', 'tsrun.js'), ...args], { encoding: 'utf8' });
      const plain = spawnSync(process.execPath, [...NODE_FLAGS, partial, ...args], { encoding: 'utf8' });
      const fromCache = spawnSync(process.execPath, [...NODE_FLAGS, CACHED_START, partial, `${partial}.cache`, ...args], { encoding: 'utf8' });
      for (const [name, r] of [[bundle, plain], [`${bundle} from its cache`, fromCache]] as const) {
        assert.deepEqual([r.status, r.stdout, r.stderr], [full.status, full.stdout, full.stderr], `${name}: tsrun ${call.join(' ')}`);
      }
    }
  }

  /** Calls that neither of the partial bundles holds: help, the version, other verbs, command lines that do not parse. */
  const NOT_PLAIN = [['help'], ['--version'], ['frob'], ['features'], ['start', '--help'], ['state', '--help']];

  it('answers from read.js exactly as the full CLI would, handing it every call that is not a plain state or list', () => {
    const b = s.bundle(['sleep', '1000']);
    const id = s.id('read');
    s.create(id, b);
    assertAnswersAsTheFullCli('read.js', [['state', id], ['list'], ['list', '--format', 'json'], ['state', 'missing'], ['state'], ['list', '--bogus'], ['kill', 'missing', 'TERM'], ...NOT_PLAIN]);
    assert.match(spawnSync(TSRUN, ['--root', s.root, 'list'], { encoding: 'utf8' }).stdout, new RegExp(`^${id}\\s+\\d+\\s+created`, 'm'));
  });

  it('answers from lifecycle.js exactly as the full CLI would, handing it every call that is not a plain start, delete or kill', () => {
    const b = s.bundle(['sleep', '1000']);
    const id = s.id('life');
    s.create(id, b);
    // On a created container: what each refuses, then a signal of no effect; the rest on ids that do not exist.
    assertAnswersAsTheFullCli('lifecycle.js', [
      ['delete', id],
      ['kill', id, 'FROB'],
      ['kill', id, '0'],
      ['start', 'missing'],
      ['delete', 'missing'],
      ['delete', '--force', 'missing'],
      ['kill', 'missing', 'TERM'],
      ['kill'],
      ['delete', '--bogus', 'x'],
      ['state', 'missing'],
      ['list'],
      ...NOT_PLAIN,
    ]);
    assert.equal(s.state(id).status, 'created');
    // And the verbs themselves, through the launcher: start, kill, delete.
    s.ok(['start', id]);
    s.ok(['kill', id, 'KILL']);
    s.ok(['delete', '--force', id]);
    assert.deepEqual(s.rootEntries(), []);
  });

  /**
   * The built-in modules a verb loads beyond node's own start, seen from a
   * preload that lists them at exit (process.moduleLoadList).
   */
  function builtinsLoaded(bundle: string, args: string[]): string[] {
    const preload = join(dir, 'list-builtins.js');
    writeFileSync(preload, "process.on('exit', () => require('node:fs').writeSync(2, '\\nBUILTINS ' + process.moduleLoadList.join(',') + '\\n'));\n");
    const partial = join(REPO, 'dist', bundle);
    const r = spawnSync(process.execPath, [...NODE_FLAGS, '--require', preload, CACHED_START, partial, `${partial}.cache`, '--root', s.root, ...args], { encoding: 'utf8' });
    const line = r.stderr.split('\n').find((l) => l.startsWith('BUILTINS '));
    assert.ok(line, `no module list from ${bundle} ${args.join(' ')}: ${r.stderr}`);
    return line.slice('BUILTINS '.length).split(',').filter((m) => m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice('NativeModule '.length));
  }

  it('loads none of the costly built-ins it does not use for state, list, start, delete and kill', () => {
    const b = s.bundle(['sleep', '1000']);
    const id = s.id('builtins');
    s.create(id, b);
    // Each costs 0.5-1.5 ms at every call; `module` came in through the way out to the full CLI, `os` through errno names.
    const unwanted = ['module', 'os', 'child_process', 'crypto', 'net', 'stream', 'zlib', 'http', 'https', 'worker_threads'];
    // kill alone reads node's signal table, which is in os.
    const calls: Array<[string, string[], string[]]> = [
      ['read.js', ['state', id], []],
      ['read.js', ['list'], []],
      ['lifecycle.js', ['kill', id, '0'], ['os']],
      ['lifecycle.js', ['delete', 'missing'], []],
      ['lifecycle.js', ['start', id], []],
      ['lifecycle.js', ['delete', '--force', id], []],
    ];
    for (const [bundle, args, uses] of calls) {
      const loaded = builtinsLoaded(bundle, args);
      assert.ok(loaded.includes('fs'), `the module list of ${bundle} ${args.join(' ')} is not node's: ${loaded.join(',')}`);
      assert.deepEqual(loaded.filter((m) => unwanted.includes(m) && !uses.includes(m)), [], `${bundle} ${args.join(' ')}`);
    }
    assert.deepEqual(s.rootEntries(), []);
  });

  it('runs a bundle whatever its code cache: stale, from other V8 flags, or not one', () => {
    const b = s.bundle(['sleep', '1000']);
    const id = s.id('cache');
    s.create(id, b);
    const READ = join(REPO, 'dist', 'read.js');
    const want = spawnSync(TSRUN, ['--root', s.root, 'state', id], { encoding: 'utf8' });
    assert.equal(want.status, 0, want.stderr);
    assert.equal(JSON.parse(want.stdout).status, 'created');
    const garbage = join(dir, 'garbage.cache');
    writeFileSync(garbage, 'not a code cache');
    // Not a cache; one V8 refuses (made for the whole bundle, in lite mode); none.
    for (const cache of [garbage, join(REPO, 'dist', 'tsrun.js.create-cache'), join(dir, 'missing.cache')]) {
      const r = spawnSync(process.execPath, [...NODE_FLAGS, CACHED_START, READ, cache, '--root', s.root, 'state', id], { encoding: 'utf8' });
      assert.deepEqual([r.status, r.stdout, r.stderr], [0, want.stdout, ''], cache);
    }
  });

  it('runs the bundle where node refuses the snapshots (another V8 configuration), and remembers that', () => {
    // Blobs node refuses as it refuses one made on another machine: exit 14, nothing run.
    const readBlob = join(dir, 'read.blob');
    const fullBlob = join(dir, 'full.blob');
    writeFileSync(readBlob, 'not a snapshot');
    writeFileSync(fullBlob, 'not a snapshot');
    const verdicts = join(dir, 'verdict-');
    const launcher = join(dir, 'tsrun');
    writeFileSync(
      launcher,
      readFileSync(TSRUN, 'utf8').split(READ_BLOB).join(readBlob).split(FULL_BLOB).join(fullBlob).split('/run/tsrun-snapshot-').join(verdicts),
    );
    chmodSync(launcher, 0o755);
    for (const attempt of ['first', 'second']) {
      const r = traceLauncher(launcher, ['--root', s.root, 'features']);
      assert.equal(r.status, 0, `${attempt} call: ${r.trace}`);
      assert.match(r.stdout, /"ociVersionMin"/);
      assert.doesNotMatch(r.trace, /exec \S+ .*--snapshot-blob/);
      // The verdict is kept: the second call does not try the blobs again.
      if (attempt === 'second') assert.doesNotMatch(r.trace, /--snapshot-blob \S+ -- \S+ --version/);
    }
    const kept = readdirSync(dir).filter((f) => f.startsWith('verdict-'));
    assert.equal(kept.length, 1);
    assert.match(kept[0], /\.bad$/);
  });
});
