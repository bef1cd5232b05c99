import assert from 'node:assert/strict';
import { makePlan, hostIdsOfContainerRoot } from '../../src/process/plan/container-plan';
import { resolveCapabilities } from '../../src/process/plan/security';
import { formatIdMap, formatTimeOffsets } from '../../src/process/create/id-mappings';
import { defaultSpec } from '../../src/spec/default-spec';
import type { Spec } from '../../src/spec/types';

const base = { id: 'x', bundle: '/b', rootfs: '/b/rootfs', fifoPath: '/run/x/exec.fifo', noPivot: false, preserveFds: 0 };

function specWith(namespaces: Spec['linux'] extends infer L ? (L extends { namespaces?: infer N } ? N : never) : never): Spec {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  delete spec.hostname;
  spec.linux!.namespaces = namespaces;
  return spec;
}

describe('container plan', () => {
  it('joins the user namespace before any other, and creates the user namespace apart', () => {
    const plan = makePlan(
      specWith([
        { type: 'network', path: '/proc/1/ns/net' },
        { type: 'pid' },
        { type: 'user', path: '/proc/1/ns/user' },
        { type: 'mount' },
        { type: 'uts', path: '/proc/1/ns/uts' },
      ]),
      base,
    );
    assert.deepEqual(
      plan.join.map((j) => j.kind),
      ['user', 'network', 'uts'],
    );
    assert.deepEqual(plan.create, ['pid', 'mount']);
    assert.equal(plan.newUserNamespace, false);
    assert.equal(plan.inUserNamespace, true);
  });

  it('marks a new user namespace and keeps it out of the unshare list', () => {
    const spec = specWith([{ type: 'user' }, { type: 'mount' }, { type: 'pid' }]);
    const plan = makePlan(spec, base);
    assert.equal(plan.newUserNamespace, true);
    assert.deepEqual(plan.create, ['mount', 'pid']);
  });

  it('uses chroot when there is no mount namespace', () => {
    const spec = specWith([{ type: 'pid' }]);
    delete spec.linux!.maskedPaths;
    delete spec.linux!.readonlyPaths;
    const plan = makePlan(spec, base);
    assert.equal(plan.hasMountNamespace, false);
    assert.equal(plan.noPivot, true);
  });

  it('finds the host ids of the container root for the exec fifo', () => {
    const spec = specWith([{ type: 'user' }, { type: 'mount' }]);
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    assert.deepEqual(hostIdsOfContainerRoot(spec), { uid: 100000, gid: 200000 });
    assert.deepEqual(hostIdsOfContainerRoot(specWith([{ type: 'mount' }])), { uid: 0, gid: 0 });
  });

  it('formats id maps and time offsets as the kernel reads them', () => {
    assert.equal(formatIdMap([{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65535 }]), '0 1000 1\n1 100000 65535\n');
    const spec = specWith([{ type: 'time' }]);
    spec.linux!.timeOffsets = { monotonic: { secs: 10, nanosecs: 5 }, boottime: { secs: 20 } };
    assert.equal(formatTimeOffsets(spec), 'monotonic 10 5\nboottime 20 0\n');
  });

  it('accepts a terminal (the console socket is attached around the fork)', () => {
    const spec = specWith([{ type: 'mount' }]);
    spec.process!.terminal = true;
    assert.equal(makePlan(spec, base).console, undefined);
  });
});

describe('capability names', () => {
  it('maps names to numbers and names the bad entry', () => {
    const warnings: string[] = [];
    const sets = resolveCapabilities({ bounding: ['CAP_CHOWN', 'CAP_KILL'], ambient: ['CAP_BPF'] }, 40, (w) => warnings.push(w));
    assert.deepEqual(sets?.bounding, [0, 5]);
    assert.deepEqual(sets?.ambient, [39]);
    assert.throws(
      () => resolveCapabilities({ effective: ['CAP_CHOWN', 'CAP_NOPE'] }, 40, () => undefined),
      /config.json: \/process\/capabilities\/effective\/1: unknown capability "CAP_NOPE"/,
    );
  });

  it('skips capabilities newer than the kernel with a warning', () => {
    const warnings: string[] = [];
    const sets = resolveCapabilities({ permitted: ['CAP_CHOWN', 'CAP_CHECKPOINT_RESTORE'] }, 39, (w) => warnings.push(w));
    assert.deepEqual(sets?.permitted, [0]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /CAP_CHECKPOINT_RESTORE/);
  });
});
