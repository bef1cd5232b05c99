// exec --cgroup: the exec'd process joins a sub-cgroup of the container's
// cgroup (one path for all controllers, or per v1 controller), checked from
// inside through /proc/self/cgroup; paths outside the container's cgroup,
// unknown controllers, missing sub-cgroups and bad flag syntax fail at once
// with one line and start nothing.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session, nonEmptyLines } from '../helpers/session';
import { liveProcessesMentioning } from '../helpers/harness';
import type { CgroupState } from '../../src/cgroups/types';

describe('exec --cgroup', function () {
  this.timeout(60000);
  let s: Session;
  let id: string;
  let cgroup: CgroupState;

  beforeEach(() => {
    s = new Session();
    id = s.id('excg');
    s.create(id, s.bundle(['sleep', '100']));
    s.ok(['start', id]);
    cgroup = (JSON.parse(readFileSync(join(s.stateDir(id), 'state.json'), 'utf8')) as { cgroup: CgroupState }).cgroup;
  });
  afterEach(() => s.cleanup());

  /** /proc/self/cgroup of an exec'd process: hierarchy (controllers, or '' for v2) -> path as the container sees it. */
  function cgroupsOfExec(flags: string[]): Map<string, string> {
    const out = s.ok(['exec', ...flags, id, 'cat', '/proc/self/cgroup']).stdout;
    return new Map(nonEmptyLines(out).map((line) => {
      const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
      return [controllers, path];
    }));
  }
  const lineOf = (seen: Map<string, string>, controller: string): string | undefined =>
    [...seen].find(([controllers]) => controllers.split(',').includes(controller))?.[1];
  const containerProcesses = (): number => (JSON.parse(s.ok(['ps', '--format', 'json', id]).stdout) as number[]).length;

  it('one path: every hierarchy of the container; "/" is its top', () => {
    for (const dir of new Set(Object.values(cgroup.paths))) {
      mkdirSync(join(dir, 'all'));
      // A new v1 cpuset cgroup has no cpus or mems, and takes no process until given some.
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        if (existsSync(join(dir, file))) writeFileSync(join(dir, 'all', file), readFileSync(join(dir, file)));
      }
    }
    const seen = cgroupsOfExec(['--cgroup', 'all']);
    for (const controller of Object.keys(cgroup.paths).filter(Boolean)) assert.equal(lineOf(seen, controller), '/all', controller);
    const top = cgroupsOfExec(['--cgroup', '/']);
    for (const controller of Object.keys(cgroup.paths).filter(Boolean)) assert.equal(lineOf(top, controller), '/', controller);
  });

  it('cgroup v1: a path per controller (comma lists too), the others at the top', function () {
    if (cgroup.version !== 'v1') this.skip();
    mkdirSync(join(cgroup.paths.memory, 'msub'));
    mkdirSync(join(cgroup.paths.pids, 'psub'));
    mkdirSync(join(cgroup.paths.freezer, 'psub'));
    const seen = cgroupsOfExec(['--cgroup', 'memory:msub', '--cgroup', 'pids,freezer:psub']);
    assert.equal(lineOf(seen, 'memory'), '/msub');
    assert.equal(lineOf(seen, 'pids'), '/psub');
    assert.equal(lineOf(seen, 'freezer'), '/psub');
    assert.equal(lineOf(seen, 'cpu'), '/');
  });

  for (const [flags, message] of [
    [['--cgroup', '..'], /^tsrun: bad sub cgroup path: \.\. \(outside the container's cgroup /],
    [['--cgroup', 'a/../../x'], /bad sub cgroup path: a\/\.\.\/\.\.\/x/],
    [['--cgroup', 'nonexistent'], /sub-cgroup \S+\/nonexistent does not exist/],
    [['--cgroup', 'whaaat:/'], /unknown controller whaaat/],
    [['--cgroup', 'memory:nonexistent'], /sub-cgroup \S+\/nonexistent does not exist/],
    [['--cgroup', 'a', '--cgroup', 'b'], /invalid --cgroup argument: a \(missing <controller>: prefix/],
    [['--cgroup', ':x'], /invalid --cgroup argument: :x \(empty <controller> prefix\)/],
    [['--cgroup', 'memory:a', '--cgroup', 'cpu,memory:b'], /controller memory specified multiple times/],
  ] as const) {
    it(`refuses ${flags.join(' ')} with one line, starting nothing`, () => {
      const marker = `7${process.pid}`;
      const r = s.exec(['exec', ...flags, id, 'sleep', marker]);
      assert.equal(r.status, 1, r.stderr);
      assert.deepEqual(nonEmptyLines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(containerProcesses(), 1, 'only the init is in the container');
      assert.deepEqual(liveProcessesMentioning(marker), []);
    });
  }
});
