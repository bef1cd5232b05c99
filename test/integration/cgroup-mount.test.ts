// The `cgroup` mount of a container without a cgroup namespace of its own
// (what podman and containerd configure on a cgroup v1 host): like runc, each
// hierarchy is the container's own cgroup directory bound read-only, so the
// container reads its own limits at /sys/fs/cgroup/<controller>/ (v1) or
// /sys/fs/cgroup/ (v2) and never sees the host's tree. (A new cgroup
// filesystem there would show the host's root cgroup, and is refused inside
// a user namespace.)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Session } from '../helpers/session';
import { TEST_TIMEOUT_MS } from './cgroups-common';
import type { Spec } from '../../src/spec/types';

const MiB = 1024 * 1024;

function withoutCgroupNamespace(spec: Spec): void {
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'cgroup');
  spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 48 * MiB }, pids: { limit: 33 } };
}

/** Where the container reads its memory and pids limits: v1 per-controller directories, or one v2 directory. */
function limitFiles(): { memory: string; pids: string } {
  return existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? { memory: '/sys/fs/cgroup/memory.max', pids: '/sys/fs/cgroup/pids.max' }
    : { memory: '/sys/fs/cgroup/memory/memory.limit_in_bytes', pids: '/sys/fs/cgroup/pids/pids.max' };
}

describe('cgroup mount without a cgroup namespace', function () {
  this.timeout(TEST_TIMEOUT_MS);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  it('shows the container its own cgroup directories, read-only', function () {
    const { memory: memoryFile, pids: pidsFile } = limitFiles();
    const pidsDir = pidsFile.slice(0, pidsFile.lastIndexOf('/'));
    const bundle = s.bundle(
      ['sh', '-c', `cat ${memoryFile} ${pidsFile}; cat ${pidsDir}/cgroup.procs | wc -l; echo 1 > ${pidsFile} 2>/dev/null || echo read-only`],
      withoutCgroupNamespace,
    );
    const id = s.id('cgmnt');
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 0, r.stderr);
    const [memory, pids, procs, write] = r.stdout.trim().split('\n').map((l) => l.trim());
    assert.equal(Number(memory), 48 * MiB);
    assert.equal(pids, '33');
    // only the container's processes (sh and cat/wc), not the host's
    assert.ok(Number(procs) <= 3, `cgroup.procs has ${procs} entries`);
    assert.equal(write, 'read-only');
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  it('works in a user namespace', function () {
    const bundle = s.bundle(['sh', '-c', `cat ${limitFiles().memory}`], (spec) => {
      withoutCgroupNamespace(spec);
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
    });
    const id = s.id('cgmntu');
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(Number(r.stdout.trim()), 48 * MiB);
    assert.deepEqual(s.leftovers(bundle, id), []);
  });
});
