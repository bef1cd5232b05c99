// A mount target swapped for a symlink after it was resolved must not take
// the mount out of the rootfs (CVE-2021-30465 class).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onPinnedTarget, withMountLabel } from '../../src/process/rootfs/mounts';
import { SyscallError } from '../../src/errors';

describe('pinned mount targets', () => {
  let dir: string;
  let rootfs: string;
  let outside: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-pin-'));
    rootfs = join(dir, 'rootfs');
    outside = join(dir, 'host');
    mkdirSync(join(rootfs, 'inside'), { recursive: true });
    mkdirSync(join(outside, 'sub'), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('mounts through /proc/self/fd/N when the target is inside the rootfs', () => {
    const seen: string[] = [];
    onPinnedTarget(rootfs, join(rootfs, 'inside'), (at) => seen.push(at));
    assert.equal(seen.length, 1);
    assert.match(seen[0], /^\/proc\/self\/fd\/\d+$/);
  });

  it('refuses a target whose directory was swapped for a symlink leading out', () => {
    symlinkSync(outside, join(rootfs, 'swapped'));
    assert.throws(() => onPinnedTarget(rootfs, join(rootfs, 'swapped', 'sub'), () => assert.fail('mounted')), /outside the container's rootfs/);
  });

  it('refuses a target that is itself a symlink now', () => {
    symlinkSync(outside, join(rootfs, 'link'));
    assert.throws(() => onPinnedTarget(rootfs, join(rootfs, 'link'), () => assert.fail('mounted')), /became a symbolic link/);
  });

  it('names the target by its container path, never the host one', () => {
    symlinkSync(outside, join(rootfs, 'link'));
    assert.throws(
      () => onPinnedTarget(rootfs, join(rootfs, 'link'), () => assert.fail('mounted')),
      (e: unknown) => e instanceof Error && e.message === 'mount target /link became a symbolic link: refused',
    );
    assert.throws(
      () => onPinnedTarget(rootfs, join(rootfs, 'missing', 'x'), () => assert.fail('mounted'), '/as/written'),
      (e: unknown) => e instanceof SyscallError && e.message === 'open(/as/written): ENOENT' && !e.message.includes(rootfs),
    );
  });
});

describe('mountLabel', () => {
  it('adds the SELinux context to the filesystems that take one', () => {
    assert.deepEqual(withMountLabel('tmpfs', ['mode=755'], 'system_u:object_r:container_file_t:s0'), ['mode=755', 'context="system_u:object_r:container_file_t:s0"']);
    assert.deepEqual(withMountLabel('proc', [], 'x'), []);
    assert.deepEqual(withMountLabel('tmpfs', ['context="y"'], 'x'), ['context="y"']);
    assert.deepEqual(withMountLabel('tmpfs', ['size=1k'], undefined), ['size=1k']);
  });
});
