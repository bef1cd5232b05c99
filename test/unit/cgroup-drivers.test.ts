// The factory's choice of cgroup driver from a recorded CgroupState, what
// each driver loads, and the steps a driver has nothing to do at. Real
// cgroups are the integration suites' business; these use plain temp dirs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContainerCgroup } from '../../src/cgroups/manager';
import { CgroupfsV1, CgroupfsV2 } from '../../src/cgroups/cgroupfs';
import { SystemdScope } from '../../src/cgroups/systemd/scope';
import type { CgroupState } from '../../src/cgroups/types';

const V1: CgroupState = { version: 'v1', paths: { memory: '/sys/fs/cgroup/memory/tsrun/c1', pids: '/sys/fs/cgroup/pids/tsrun/c1' } };
const V2: CgroupState = { version: 'v2', paths: { '': '/sys/fs/cgroup/user.slice/tsrun/c1' } };
const scopeOf = (state: CgroupState): CgroupState => ({ ...state, systemd: { unit: 'tsrun-c1.scope', slice: 'system.slice' } });

/** The modules a fresh node loads to open `state` and reach its files (this process has loaded them all). */
function modulesLoadedOpening(state: CgroupState): string[] {
  const manager = require.resolve('../../src/cgroups/manager');
  const script = `const m = require(${JSON.stringify(manager)}); m.openContainerCgroup(${JSON.stringify(state)}).files();
    process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
}

describe('cgroup drivers', () => {
  it('the factory picks cgroupfs v1 or v2 from the version, and systemd from a recorded scope', () => {
    assert.ok(openContainerCgroup(V1) instanceof CgroupfsV1);
    assert.ok(openContainerCgroup(V2) instanceof CgroupfsV2);
    for (const state of [scopeOf(V1), scopeOf(V2)]) {
      const cgroup = openContainerCgroup(state);
      assert.ok(cgroup instanceof SystemdScope);
      assert.equal(cgroup.state, state, 'the driver keeps the very object the record holds');
      assert.equal(cgroup.files().version, state.version);
      assert.deepEqual(cgroup.files().state().paths, state.paths);
    }
  });

  it("a scope's files follow the paths adopted into its state", () => {
    const state = scopeOf(V2);
    const cgroup = openContainerCgroup(state);
    state.paths = { '': '/sys/fs/cgroup/system.slice/tsrun-c1.scope' };
    assert.deepEqual(cgroup.files().state().paths, state.paths);
  });

  it('cgroupfs loads nothing of systemd; a scope loads its driver but not D-Bus until systemd is asked', function () {
    this.timeout(20000);
    const systemdModules = (loaded: string[]): string[] => loaded.filter((p) => p.includes('/cgroups/systemd/')).map((p) => p.replace(/.*\/cgroups\/systemd\//, ''));
    assert.deepEqual(systemdModules(modulesLoadedOpening(V2)), []);
    const forScope = systemdModules(modulesLoadedOpening(scopeOf(V1)));
    assert.ok(forScope.includes('scope.js'), forScope.join(' '));
    assert.ok(!forScope.includes('units.js') && !forScope.includes('dbus-connection.js'), forScope.join(' '));
  });

  describe('on directories', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), 'tsrun-cgdrv-'));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('cgroupfs destroy removes the cgroup and the emptied default parent', () => {
      const dir = join(root, 'tsrun', 'c1');
      mkdirSync(dir, { recursive: true });
      openContainerCgroup({ version: 'v2', paths: { '': dir }, removeEmptyParent: true }).destroy();
      assert.ok(!existsSync(join(root, 'tsrun')));
    });

    it('a scope not yet started: prepare makes nothing, destroy removes nothing (the name may be another container\'s)', () => {
      const dir = join(root, 'tsrun-c1.scope');
      const cgroup = openContainerCgroup({ ...scopeOf(V2), paths: { '': dir } });
      cgroup.prepare({ memory: { limit: 1 << 20 } });
      assert.ok(!existsSync(dir));
      mkdirSync(dir);
      cgroup.destroy();
      assert.ok(existsSync(dir));
    });
  });
});
