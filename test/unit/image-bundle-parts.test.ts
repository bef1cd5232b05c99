// The pure parts of `tsrun bundle`: subordinate ranges, the rootless
// mappings and owner shifts, and the progress line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownersInsideNamespace, ownersThrough, rootlessIds, subordinateRange } from '../../src/image/rootless-ids';
import { progressLine } from '../../src/cli/progress-bar';

describe('tsrun bundle: rootless ids and owners', () => {
  it('reads the first range of the user, by name or uid, ignoring bad lines', () => {
    const text = 'other:100000:65536\nbad:x:1\nme:200000:0\n1001:300000:1000\nme:400000:65536\n';
    assert.deepEqual(subordinateRange(text, 'me', 1001), [300000, 1000]);
    assert.deepEqual(subordinateRange(text, 'nobody-here', 5), null);
    assert.deepEqual(subordinateRange('me:400000:65536', 'me', 1), [400000, 65536]);
  });

  it('maps the user as root, and their subordinate range (at most 65536) as 1..N when both files give one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-subid-'));
    try {
      const files = { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') };
      writeFileSync(files.subuid, 'me:100000:200000\n');
      writeFileSync(files.subgid, 'me:300000:65536\n');
      const ids = rootlessIds(1000, 1001, 'me', files, true);
      assert.deepEqual(ids.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }]);
      assert.deepEqual(ids.gidMappings, [{ containerID: 0, hostID: 1001, size: 1 }, { containerID: 1, hostID: 300000, size: 65536 }]);
      const own = [{ containerID: 0, hostID: 1000, size: 1 }];
      assert.deepEqual(rootlessIds(1000, 1001, 'me', files, false).uidMappings, own, 'no newuidmap: the user alone');
      writeFileSync(files.subgid, '');
      assert.deepEqual(rootlessIds(1000, 1001, 'me', files, true).uidMappings, own, 'a uid range alone is not used');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shifts owners through the mappings; ids outside them go to the container root', () => {
    const owners = ownersThrough(
      [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }],
      [{ containerID: 0, hostID: 1001, size: 1 }, { containerID: 1, hostID: 200000, size: 65536 }],
    );
    assert.deepEqual(owners.map(0, 0), { uid: 1000, gid: 1001 });
    assert.deepEqual(owners.map(1234, 5), { uid: 101233, gid: 200004 });
    assert.deepEqual(owners.map(70000, 70000), { uid: 1000, gid: 1001 });
    const inside = ownersInsideNamespace({ uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 10 }], gidMappings: [{ containerID: 0, hostID: 1001, size: 1 }] });
    assert.deepEqual(inside.map(7, 7), { uid: 7, gid: 0 });
    assert.deepEqual(inside.map(11, 0), { uid: 0, gid: 0 });
  });
});

describe('tsrun bundle: the progress line', () => {
  it('shows the layer, its digest, a bar and the bytes', () => {
    const p = { index: 2, count: 4, digest: 'sha256:0123456789abcdef', stored: 5e6, size: 10e6, done: false };
    assert.equal(progressLine(p), 'layer 2/4 0123456789ab [############............] 5.0 MB / 10.0 MB');
    assert.equal(progressLine({ ...p, done: true }), 'layer 2/4 0123456789ab [########################] 10.0 MB / 10.0 MB');
    assert.equal(progressLine({ ...p, digest: null, size: null }), 'layer 2/4 5.0 MB');
    assert.equal(progressLine({ ...p, stored: 1500, size: 3000 }), 'layer 2/4 0123456789ab [############............] 1.5 kB / 3.0 kB');
  });
});
