// The pure parts of rootless mode: the --rootless flag, telling a user
// namespace from the host's, the state root, which limits need a cgroup,
// and which maps the kernel takes without newuidmap.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultStateRoot, honoursXdgRuntimeDir, inUserNamespace, parseRootlessFlag, rootlessCgroups } from '../../src/lifecycle/rootless';
import { firstLimitField, isTrackingOnly, makeDirsOrDrop } from '../../src/cgroups/rootless';
import { isOwnIdAlone } from '../../src/process/create/id-mappings';
import { findMappingHelper } from '../../src/process/create/mapping-helper';
import { UserError } from '../../src/errors';
import { uidInParentNamespace } from '../../src/linux/userns';

describe('rootless mode (pure parts)', () => {
  it('reads --rootless as runc does: auto by default, booleans as Go spells them, anything else refused', () => {
    assert.equal(parseRootlessFlag(undefined), 'auto');
    assert.equal(parseRootlessFlag(''), 'auto');
    assert.equal(parseRootlessFlag('AUTO'), 'auto');
    for (const t of ['true', '1', 't', 'TRUE', 'True']) assert.equal(parseRootlessFlag(t), true, t);
    for (const f of ['false', '0', 'f', 'FALSE', 'False']) assert.equal(parseRootlessFlag(f), false, f);
    assert.throws(() => parseRootlessFlag('yes'), (e: unknown) => e instanceof UserError && e.message === '--rootless: invalid value "yes": want true, false or auto');
  });

  it('an explicit --rootless wins over what the host looks like', () => {
    assert.equal(rootlessCgroups(true), true);
    assert.equal(rootlessCgroups(false), false);
  });

  it('tells the host user namespace (the identity map) from any other', () => {
    assert.equal(inUserNamespace('         0          0 4294967295\n'), false);
    assert.equal(inUserNamespace('         0       1000          1\n'), true);
    assert.equal(inUserNamespace('0 0 4294967295\n1 1 1\n'), true);
    assert.equal(inUserNamespace('0 0 4294967294\n'), true);
  });

  it('maps a uid to the parent namespace through uid_map (what a server outside sees)', () => {
    assert.equal(uidInParentNamespace(0, '0 1000 1\n1 100000 65536\n'), 1000);
    assert.equal(uidInParentNamespace(5, '0 1000 1\n1 100000 65536\n'), 100004);
    assert.equal(uidInParentNamespace(70000, '0 1000 1\n1 100000 65536\n'), undefined);
    assert.equal(uidInParentNamespace(42, '0 0 4294967295\n'), 42);
  });

  it("the host's root keeps /run/tsrun even with XDG_RUNTIME_DIR set (this suite runs as root, outside any user namespace)", function () {
    if (process.geteuid?.() !== 0 || inUserNamespace()) this.skip(); // the rootless integration suite covers the user's side
    assert.equal(honoursXdgRuntimeDir({ XDG_RUNTIME_DIR: '/run/user/0' }), false);
    assert.equal(defaultStateRoot({ XDG_RUNTIME_DIR: '/run/user/0' }), '/run/tsrun');
  });

  it('finds the first limit a config asks for, device rules aside; zero, false and empty values ask for nothing', () => {
    assert.equal(firstLimitField({}), undefined);
    assert.equal(firstLimitField({ devices: [{ allow: false, access: 'rwm' }] }), undefined);
    assert.equal(firstLimitField({ memory: { limit: 0, disableOOMKiller: false }, cpu: { cpus: '' } }), undefined);
    assert.equal(firstLimitField({ memory: { limit: 1 << 20 } }), '/linux/resources/memory/limit');
    assert.equal(firstLimitField({ devices: [{ allow: true }], pids: { limit: 10 } }), '/linux/resources/pids/limit');
    assert.equal(firstLimitField({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }), '/linux/resources/hugepageLimits/0');
    assert.equal(firstLimitField({ unified: { 'io.weight': '100' } }), '/linux/resources/unified/io.weight');
  });

  it("only v1's name= and a hybrid host's empty cgroup2 count as tracking-only hierarchies", () => {
    assert.equal(isTrackingOnly('v1', ''), true);
    assert.equal(isTrackingOnly('v1', 'name=systemd'), true);
    assert.equal(isTrackingOnly('v1', 'memory'), false);
    assert.equal(isTrackingOnly('v2', ''), false);
  });

  it('a map the kernel takes from a user directly is their own id alone, size 1', () => {
    assert.equal(isOwnIdAlone([{ containerID: 0, hostID: 1000, size: 1 }], 1000), true);
    assert.equal(isOwnIdAlone([{ containerID: 0, hostID: 1000, size: 2 }], 1000), false);
    assert.equal(isOwnIdAlone([{ containerID: 0, hostID: 1001, size: 1 }], 1000), false);
    assert.equal(isOwnIdAlone([{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }], 1000), false);
  });

  it('looks for newuidmap on $PATH first, then in the usual places (callers may pass no PATH)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-helper-'));
    try {
      mkdirSync(join(dir, 'bin'));
      writeFileSync(join(dir, 'bin', 'newuidmap'), '#!/bin/sh\n');
      chmodSync(join(dir, 'bin', 'newuidmap'), 0o755);
      assert.equal(findMappingHelper('newuidmap', `relative:${join(dir, 'bin')}`), join(dir, 'bin', 'newuidmap'));
      assert.equal(findMappingHelper('tsrun-no-such-helper', join(dir, 'bin')), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('making cgroup directories where permission may be lacking (EPERM under /sys, even for root)', () => {
    const denied = '/sys/tsrun-unit-denied/c1';
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'tsrun-cg-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('drops a denied v2 directory when forgiven, and reports it: a limit then cannot be applied', () => {
      const paths: Record<string, string> = { '': denied };
      assert.equal(makeDirsOrDrop('v2', paths, () => true), `mkdir ${denied}: EPERM`);
      assert.deepEqual(paths, {});
    });

    it('on v1 drops every controller sharing the directory; a tracking-only one is dropped without a report', () => {
      const paths: Record<string, string> = { cpu: denied, cpuacct: denied, memory: join(dir, 'memory'), 'name=systemd': '/sys/tsrun-unit-denied/s', '': '/sys/tsrun-unit-denied/u' };
      assert.equal(makeDirsOrDrop('v1', { 'name=systemd': paths['name=systemd'], '': paths[''] }, () => true), undefined);
      assert.equal(makeDirsOrDrop('v1', paths, () => true), `mkdir ${denied}: EPERM`);
      assert.deepEqual(paths, { memory: join(dir, 'memory') });
    });

    it('an unforgiven denial is an error naming the directory and the rule', () => {
      assert.throws(() => makeDirsOrDrop('v2', { '': denied }, () => false), (e: unknown) => e instanceof UserError && e.message === `cgroup: mkdir ${denied}: EPERM (a rootless container may name only a cgroupsPath its user can write)`);
    });
  });
});
