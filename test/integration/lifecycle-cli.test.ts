// list, spec, id validation and the global flags, through the built bin/tsrun.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session, nonEmptyLines } from '../helpers/session';
import { TSRUN, tempDir } from '../helpers/harness';
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
      ['frobnicate'],
      ['kill', '--bogus', 'x'],
    ]) {
      const r = s.exec(args, { globals: ['--root', s.root] });
      assert.equal(r.status, 1, `${args.join(' ')}: exit ${r.status}, stdout ${r.stdout}`);
      assert.equal(nonEmptyLines(r.stderr).length, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', args.join(' '));
    }
  });

  it('a wrong number of arguments is an error', () => {
    for (const args of [['state'], ['state', 'a', 'b'], ['kill'], ['delete'], ['create'], ['start']]) {
      const r = s.exec(args);
      assert.equal(r.status, 1, args.join(' '));
      assert.equal(nonEmptyLines(r.stderr).length, 1, `${args.join(' ')}: ${r.stderr}`);
    }
  });
});
