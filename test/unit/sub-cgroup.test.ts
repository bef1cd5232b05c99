import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execCgroupDirs, hasSubCgroups } from '../../src/cgroups/sub-cgroup';
import { parseSubCgroups } from '../../src/cli/commands/exec';
import type { CgroupState } from '../../src/cgroups/types';

describe('exec --cgroup: sub-cgroups', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-subcg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('parses runc\'s syntax: one path, or controller lists per path', () => {
    assert.equal(parseSubCgroups([]), undefined);
    assert.deepEqual(parseSubCgroups(['foo/bar']), { '': 'foo/bar' });
    assert.deepEqual(parseSubCgroups(['memory:a', 'cpu,cpuacct:b']), { memory: 'a', cpu: 'b', cpuacct: 'b' });
    assert.throws(() => parseSubCgroups(['a', 'b']), /missing <controller>: prefix/);
    assert.throws(() => parseSubCgroups(['memory:a', 'b']), /missing <controller>: prefix/);
    assert.throws(() => parseSubCgroups([',memory:a']), /empty <controller> prefix/);
    assert.throws(() => parseSubCgroups(['memory:a', 'memory:b']), /controller memory specified multiple times/);
  });

  it('v2: one directory under the container\'s; controllers may not be named; "/" and "" are the top', () => {
    const top = join(dir, 'c');
    mkdirSync(join(top, 'sub'), { recursive: true });
    const v2: CgroupState = { version: 'v2', paths: { '': top } };
    assert.deepEqual(execCgroupDirs(v2, { '': 'sub' }), { '': join(top, 'sub') });
    assert.deepEqual(execCgroupDirs(v2, { '': '/sub' }), { '': join(top, 'sub') });
    assert.deepEqual(execCgroupDirs(v2, { '': '/' }), { '': top });
    assert.throws(() => execCgroupDirs(v2, { memory: 'sub' }), /controllers are named on cgroup v1 only/);
    assert.throws(() => execCgroupDirs(v2, { '': '..' }), /bad sub cgroup path: \.\./);
    // a sibling that shares the prefix is still outside
    mkdirSync(join(dir, 'c2'));
    assert.throws(() => execCgroupDirs(v2, { '': '../c2' }), /bad sub cgroup path/);
    assert.throws(() => execCgroupDirs(v2, { '': 'missing' }), /sub-cgroup .*missing does not exist/);
    assert.equal(hasSubCgroups(undefined), false);
    assert.equal(hasSubCgroups({ '': '/' }), true);
  });

  it('v1: per controller, the rest at the top; unknown controllers refused', () => {
    const mem = join(dir, 'memory', 'c');
    const cpu = join(dir, 'cpu', 'c');
    mkdirSync(join(mem, 'm'), { recursive: true });
    mkdirSync(cpu, { recursive: true });
    const v1: CgroupState = { version: 'v1', paths: { memory: mem, cpu } };
    assert.deepEqual(execCgroupDirs(v1, { memory: 'm' }), { memory: join(mem, 'm'), cpu });
    assert.throws(() => execCgroupDirs(v1, { '': 'm' }), /sub-cgroup .*cpu\/c\/m does not exist/);
    assert.throws(() => execCgroupDirs(v1, { blkio: 'm' }), /unknown controller blkio \(the container's cgroup has cpu, memory\)/);
  });
});
