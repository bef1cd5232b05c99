// list, spec, id validation and the global flags, through the built bin/tsrun.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session, nonEmptyLines } from '../helpers/session';
import { TSRUN, mountsUnder, tempDir } from '../helpers/harness';
import { defaultSpec } from '../../src/spec/default-spec';

describe('lifecycle: list', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  it('prints a table, JSON and ids', () => {
    const empty = s.ok(['list']).stdout;
    assert.match(nonEmptyLines(empty)[0], /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    assert.equal(nonEmptyLines(empty).length, 1);
    assert.equal(s.ok(['list', '--format', 'json']).stdout.trim(), '[]');

    const bundle = s.bundle(['sleep', '100']);
    const a = s.id('a');
    const b = s.id('b');
    const pa = s.create(a, bundle).pid;
    const pb = s.create(b, bundle).pid;
    s.ok(['start', b]);

    const table = nonEmptyLines(s.ok(['list']).stdout);
    assert.match(table[0], /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    assert.equal(table.length, 3);
    const rows = table.slice(1).map((l) => l.split(/\s+/));
    const rowA = rows.find((r) => r[0] === a);
    const rowB = rows.find((r) => r[0] === b);
    assert.deepEqual(rowA?.slice(0, 4), [a, String(pa), 'created', bundle.dir]);
    assert.deepEqual(rowB?.slice(0, 4), [b, String(pb), 'running', bundle.dir]);

    const json = JSON.parse(s.ok(['list', '--format', 'json']).stdout) as { id: string; pid: number; status: string; bundle: string }[];
    assert.ok(Array.isArray(json));
    assert.deepEqual(json.map((x) => x.id).sort(), [a, b].sort());
    const ja = json.find((x) => x.id === a)!;
    assert.equal(ja.status, 'created');
    assert.equal(ja.pid, pa);
    assert.equal(ja.bundle, bundle.dir);
    assert.deepEqual(JSON.parse(s.ok(['list', '-f', 'json']).stdout), json);

    assert.deepEqual(nonEmptyLines(s.ok(['list', '-q']).stdout).sort(), [a, b].sort());
    assert.deepEqual(nonEmptyLines(s.ok(['list', '--quiet']).stdout).sort(), [a, b].sort());

    const bad = s.exec(['list', '--format', 'yaml']);
    assert.equal(bad.status, 1);
    assert.equal(nonEmptyLines(bad.stderr).length, 1);
  });

  it('a missing root lists nothing', () => {
    const r = s.exec(['list', '-q'], { globals: ['--root', join(s.root, 'not-there')] });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
  });
});

describe('lifecycle: spec', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  it('writes the default config.json that create accepts, and refuses to overwrite it', () => {
    const bundle = s.bundle(['true']);
    rmSync(bundle.configPath);
    s.ok(['spec', '--bundle', bundle.dir]);
    const written = readFileSync(bundle.configPath, 'utf8');
    const spec = JSON.parse(written);
    assert.deepEqual(spec, JSON.parse(JSON.stringify(defaultSpec())));

    const again = s.exec(['spec', '--bundle', bundle.dir]);
    assert.equal(again.status, 1);
    assert.equal(nonEmptyLines(again.stderr).length, 1);
    assert.match(again.stderr, /exists/);
    assert.equal(readFileSync(bundle.configPath, 'utf8'), written, 'config.json was changed');

    // No terminal: a detached create has no console socket to hand a pty to.
    spec.process.terminal = false;
    writeFileSync(bundle.configPath, JSON.stringify(spec));
    const id = s.id();
    s.create(id, bundle);
    assert.equal(s.state(id).status, 'created');
  });

  it('-b works and the default bundle is the working directory', () => {
    const dir = tempDir('tsrun-spec-');
    try {
      const r = s.exec(['spec', '-b', dir]);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(existsSync(join(dir, 'config.json')));
      const sub = join(dir, 'cwd');
      mkdirSync(sub);
      const inCwd = spawnSync(TSRUN, ['spec'], { cwd: sub, encoding: 'utf8' });
      assert.equal(inCwd.status, 0, inCwd.stderr);
      assert.ok(existsSync(join(sub, 'config.json')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lifecycle: container ids', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  for (const [id, message] of [
    ['a/b', /invalid container id/],
    ['..', /invalid container id/],
    ['.', /invalid container id/],
    ['', /container id cannot be empty/],
    ['a b', /invalid container id/],
    ['../escape', /invalid container id/],
  ] as const) {
    it(`refuses id ${JSON.stringify(id)} and creates nothing`, () => {
      const bundle = s.bundle(['true']);
      for (const verb of ['create', 'run']) {
        const r = s.exec([verb, '--bundle', bundle.dir, id]);
        assert.equal(r.status, 1, `${verb}: ${r.stderr}`);
        assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
        assert.match(r.stderr, message);
        assert.deepEqual(s.leftovers(bundle), [], verb);
      }
      for (const verb of ['state', 'start', 'kill', 'delete']) {
        const r = s.exec([verb, id]);
        assert.equal(r.status, 1, `${verb}: ${r.stderr}`);
        assert.match(r.stderr, message, verb);
      }
      assert.equal(existsSync(join(s.root, '..', 'escape')), false);
    });
  }
});

describe('lifecycle: global flags', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

  it('--log FILE --log-format json: JSON lines level/msg/time; the error once on stderr', () => {
    const log = join(s.root, '..', `${s.id('log')}.log`);
    try {
      const r = s.exec(['--log', log, '--log-format', 'json', 'state', 'no-such-container'], { globals: ['--root', s.root] });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /does not exist/);
      const lines = nonEmptyLines(readFileSync(log, 'utf8')).map((l) => JSON.parse(l) as { level: string; msg: string; time: string });
      const errors = lines.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1, JSON.stringify(lines));
      assert.equal(errors[0].msg, 'container "no-such-container" does not exist', JSON.stringify(lines));
      assert.match(errors[0].time, RFC3339);
      for (const l of lines) assert.deepEqual(Object.keys(l).sort(), ['level', 'msg', 'time']);
    } finally {
      rmSync(log, { force: true });
    }
  });

  it('--log in text format, --debug accepted, --flag=value and single-dash long flags', () => {
    const log = join(s.root, '..', `${s.id('log')}.log`);
    try {
      const a = s.exec(['list', '-q'], { globals: [`--root=${s.root}`, '--debug', `--log=${log}`, '--log-format=json'] });
      assert.equal(a.status, 0, a.stderr);
      assert.equal(a.stderr, '');
      for (const l of nonEmptyLines(readFileSync(log, 'utf8'))) assert.doesNotThrow(() => JSON.parse(l), l);

      const bundle = s.bundle(['true']);
      const id = s.id();
      s.ok(['create', '-bundle', bundle.dir, '-pid-file', join(bundle.dir, 'pid'), id], { globals: ['-root', s.root] });
      assert.equal(s.state(id).status, 'created');
      assert.equal(readFileSync(join(bundle.dir, 'pid'), 'utf8'), String(s.state(id).pid));
      assert.deepEqual(nonEmptyLines(s.ok(['list', '-q'], { globals: ['-root', s.root] }).stdout), [id]);
      assert.deepEqual(nonEmptyLines(s.ok(['list', '-q'], { globals: [`-root=${s.root}`] }).stdout), [id]);
      // a global flag after the verb counts too
      assert.deepEqual(nonEmptyLines(s.ok(['list', '-q', '--root', s.root], { globals: [] }).stdout), [id]);

      const text = s.exec(['state', 'nope'], { globals: ['--root', s.root, '--log', log + '.txt'] });
      assert.equal(text.status, 1);
      assert.match(readFileSync(log + '.txt', 'utf8'), /level=error msg=.*does not exist/);
    } finally {
      rmSync(log, { force: true });
      rmSync(log + '.txt', { force: true });
    }
  });

  it('unknown flags, verbs and a bad --log-format are errors', () => {
    for (const args of [
      ['--bogus', 'list'],
      ['--bogus=1', 'list'],
      ['list', '--bogus'],
      ['--log-format', 'xml', 'list'],
      ['kill', '--bogus', 'x'],
    ]) {
      const r = s.exec(args, { globals: ['--root', s.root] });
      assert.equal(r.status, 1, `${args.join(' ')}: exit ${r.status}, stdout ${r.stdout}`);
      assert.equal(nonEmptyLines(r.stderr).length, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', args.join(' '));
    }
  });

  it('an unknown verb exits 3 with runc\'s words', () => {
    const r = s.exec(['frobnicate'], { globals: ['--root', s.root] });
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stderr, "tsrun: No help topic for 'frobnicate'\n");
    assert.equal(r.stdout, '');
    assert.deepEqual(s.rootEntries(), []);
  });

  it('a wrong number of arguments is an error', () => {
    for (const args of [['state'], ['state', 'a', 'b'], ['kill'], ['delete'], ['create'], ['start']]) {
      const r = s.exec(args);
      assert.equal(r.status, 1, args.join(' '));
      assert.equal(nonEmptyLines(r.stderr).length, 1, `${args.join(' ')}: ${r.stderr}`);
    }
  });
});

describe('lifecycle: CLI edges', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  /** Runs tsrun with its stdout a pipe whose reader reads `lines` lines (0: none) and goes away. */
  function withReaderGone(args: string[], lines: number): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string; read: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(TSRUN, ['--root', s.root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let read = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const closeReader = (): void => {
        child.stdout.removeAllListeners('data');
        child.stdout.destroy();
      };
      if (lines === 0) closeReader();
      else
        child.stdout.on('data', (d: Buffer) => {
          read += d.toString();
          if (read.split('\n').length > lines) closeReader();
        });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
      child.on('error', reject);
      child.on('exit', (status, signal) => {
        clearTimeout(timer);
        resolve({ status, signal, stderr, read });
      });
    });
  }

  it('events, list, state and ps end quietly when the reader of their output goes away', async () => {
    const id = s.id('pipe');
    s.create(id, s.bundle(['sleep', '100']));
    s.ok(['start', id]);
    const events = await withReaderGone(['events', '--interval', '100ms', id], 1);
    assert.match(events.read, /^\{"type":"stats"/);
    assert.deepEqual([events.status, events.stderr], [141, ''], 'events: like a process killed by SIGPIPE, no stack trace');
    for (const args of [['list'], ['list', '--format', 'json'], ['state', id], ['ps', '--format', 'json', id], ['ps', id]]) {
      const r = await withReaderGone(args, 0);
      assert.deepEqual([r.status, r.stderr], [141, ''], args.join(' '));
    }
    assert.equal(s.state(id).status, 'running');
  });

  it('--root naming a regular file fails every verb with one line and changes nothing', () => {
    const file = join(tempDir('tsrun-rootfile-'), 'root');
    writeFileSync(file, 'not a directory');
    const bundle = s.bundle(['true']);
    const id = s.id('rf');
    try {
      for (const args of [
        ['list'],
        ['state', id],
        ['create', '--bundle', bundle.dir, id],
        ['run', '--bundle', bundle.dir, id],
        ['start', id],
        ['kill', id, 'KILL'],
        ['delete', id],
        ['delete', '--force', id],
        ['ps', id],
        ['events', '--stats', id],
        ['pause', id],
        ['resume', id],
        ['exec', id, 'true'],
        ['update', '--pids-limit', '10', id],
      ]) {
        for (const root of [file, join(file, 'below')]) {
          const r = s.exec(args, { globals: ['--root', root] });
          assert.equal(r.status, 1, `${args[0]}: ${r.stderr}`);
          assert.deepEqual(nonEmptyLines(r.stderr), [root === file ? `tsrun: state root ${file}: not a directory` : `tsrun: state root ${root}: stat: ENOTDIR`], args[0]);
          assert.equal(r.stdout, '', args[0]);
        }
      }
      assert.equal(readFileSync(file, 'utf8'), 'not a directory');
      assert.deepEqual(s.leftovers(bundle, id), []);
    } finally {
      rmSync(join(file, '..'), { recursive: true, force: true });
    }
  });

  it('an id too long for a file name is refused at once, by every verb; the longest one works', () => {
    const bundle = s.bundle(['true']);
    const long = 'x'.repeat(300);
    for (const args of [['create', '--bundle', bundle.dir, long], ['run', '--bundle', bundle.dir, long], ['state', long], ['delete', long], ['kill', long]]) {
      const started = Date.now();
      const r = s.exec(args);
      assert.equal(r.status, 1, r.stderr);
      assert.deepEqual(nonEmptyLines(r.stderr), [`tsrun: container id too long: 300 characters, at most 250 (${'x'.repeat(20)}...)`], args[0]);
      assert.ok(Date.now() - started < 5000, `${args[0]} took ${Date.now() - started} ms`);
    }
    assert.deepEqual(s.rootEntries(), []);
    // 250 characters: the lock file <id>.lock is 255, the longest file name.
    const longest = `${s.id('max')}-`.padEnd(250, 'y');
    s.create(longest, bundle);
    assert.equal(s.state(longest).status, 'created');
    s.ok(['delete', '--force', longest]);
    assert.deepEqual(s.leftovers(bundle, longest), []);
  });

  it('a full state root: create names the file it could not write (ENOSPC) and leaves nothing', () => {
    const bundle = s.bundle(['true']);
    const id = s.id('nospc');
    const mnt = tempDir('tsrun-nospc-');
    try {
      // A tmpfs in a mount namespace of its own, gone with it; filled before create.
      const script = [
        `mount -t tmpfs -o size=64k tmpfs ${mnt}`,
        `mkdir ${mnt}/root`,
        `dd if=/dev/zero of=${mnt}/fill bs=4k 2>/dev/null`,
        `${TSRUN} --root ${mnt}/root create --bundle ${bundle.dir} ${id}`,
        'echo "status $?" >&2',
        `echo "left: $(ls -A ${mnt}/root)" >&2`,
      ].join('; ');
      const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', timeout: 30000 });
      assert.deepEqual(nonEmptyLines(r.stderr), [`tsrun: write(${mnt}/root/${id}/state.json): ENOSPC`, 'status 1', 'left: '], r.stderr);
      assert.deepEqual(s.leftovers(bundle, id), []);
      assert.deepEqual(mountsUnder(mnt), []);
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});
