// The pure parts of the VM rig (hack/vm): the initramfs' cpio format, the
// order modules load in, and reading mocha's counts from a guest's output.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpioNewc } from '../../hack/vm/cpio';
import { moduleLoadOrder } from '../../hack/vm/image';
import { mochaCounts } from '../../hack/vm/test-suite';

describe('vm rig', () => {
  it('writes a newc cpio archive that cpio(1) unpacks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-cpio-'));
    try {
      const archive = cpioNewc([
        { name: 'bin', mode: 0o40755 },
        { name: 'bin/hello', mode: 0o100755, data: Buffer.from('#!/bin/sh\necho hi\n') },
        { name: 'odd', mode: 0o100644, data: Buffer.from('12345') },
      ]);
      writeFileSync(join(dir, 'a.cpio'), archive);
      const r = spawnSync('cpio', ['-idm', '--quiet', '-F', join(dir, 'a.cpio')], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(readFileSync(join(dir, 'bin', 'hello'), 'utf8'), '#!/bin/sh\necho hi\n');
      assert.equal(readFileSync(join(dir, 'odd'), 'utf8'), '12345');
      assert.equal(archive.length % 4, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads modules after what they depend on, each once; built-in ones not at all', () => {
    const dep = [
      'kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko',
      'kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko',
      'kernel/fs/netfs/netfs.ko:',
      'kernel/net/9p/9pnet.ko:',
      'kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/virtio/virtio_ring.ko:',
      'kernel/fs/overlayfs/overlay.ko.xz:',
    ].join('\n');
    const order = moduleLoadOrder(dep, ['9pnet_virtio', '9p', 'overlay', 'ext4']).map((m) => m.name);
    assert.deepEqual(order, ['virtio_ring', 'virtio', '9pnet', '9pnet_virtio', 'netfs', 'fscache', '9p', 'overlay']);
  });

  it("reads mocha's last summary, and none when mocha printed none", () => {
    assert.deepEqual(mochaCounts('  3 passing (2s)\n  1 failing\n\n  1) x\n'), { passed: 3, failed: 1, skipped: 0 });
    assert.deepEqual(mochaCounts('  12 passing (1m)\n  2 pending\n'), { passed: 12, failed: 0, skipped: 2 });
    assert.equal(mochaCounts('Error: cannot find module\n'), undefined);
  });
});
