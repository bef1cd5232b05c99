// The layer writer as root: owners mapped (identity and a shift into a
// subordinate range), setuid kept after the chown, device nodes and fifos
// made, extended attributes kept (user.* on /tmp's filesystem, ext4 here,
// and on tmpfs; security.capability's binary value), and a full filesystem
// named on the entry that filled it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayerError, RootfsWriter } from '../../src/image/layer';
import { getXattr } from '../../src/linux/file-attrs';
import type { OwnerMapping } from '../../src/image/types';
import { streamOf, tarOf, tarWithBinaryPax, type LayerTestEntry } from '../helpers/layer-tar';

const IDENTITY: OwnerMapping = { map: (uid, gid) => ({ uid, gid }) };
const SHIFT = 100000;
const SHIFTED: OwnerMapping = { map: (uid, gid) => ({ uid: uid + SHIFT, gid: gid + SHIFT }) };

/** cap_net_bind_service+ep as a VFS_CAP_REVISION_2 security.capability value (20 bytes, mostly zeros). */
const NET_BIND_CAP = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);

const LAYER: LayerTestEntry[] = [
  { name: './', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
  { name: 'home/user/', type: 'directory', mode: 0o700, uid: 1000, gid: 1000 },
  { name: 'home/user/notes', data: 'n', mode: 0o640, uid: 1000, gid: 100 },
  { name: 'usr/bin/sudo', data: 'sudo', mode: 0o4755, uid: 0, gid: 0 },
  { name: 'usr/bin/wall', data: 'wall', mode: 0o2755, uid: 1000, gid: 5 },
  { name: 'usr/bin/link', type: 'symlink', linkname: 'sudo', uid: 1000, gid: 1001 },
  { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
  { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660, uid: 0, gid: 6 },
  { name: 'run/fifo', type: 'fifo', mode: 0o620, uid: 1000, gid: 1000 },
  { name: 'tagged', data: 't', pax: { 'SCHILY.xattr.user.test': 'kept' } },
];

describe('image layer writer as root', () => {
  let dir: string;
  const mounts: string[] = [];
  before(function () {
    if (process.getuid?.() !== 0) this.skip();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-layer-root-'));
  });
  afterEach(() => {
    for (const mp of mounts.splice(0).reverse()) spawnSync('umount', [mp]);
    rmSync(dir, { recursive: true, force: true });
  });

  const ids = (path: string): [number, number] => {
    const st = lstatSync(path);
    return [st.uid, st.gid];
  };

  async function unpack(rootfs: string, owners: OwnerMapping, entries = LAYER): Promise<ReturnType<RootfsWriter['finish']>> {
    mkdirSync(rootfs, { recursive: true });
    const writer = new RootfsWriter(rootfs, { owners });
    await writer.applyLayer(streamOf(await tarOf(entries)), 'layer 1');
    return writer.finish();
  }

  function tmpfs(name: string, size: string): string {
    const mp = join(dir, name);
    mkdirSync(mp);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tsrun-layer-test', mp], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    mounts.push(mp);
    return mp;
  }

  for (const [label, owners, shift] of [['identity', IDENTITY, 0], ['shifted by 100000', SHIFTED, SHIFT]] as const) {
    it(`owners mapped (${label}), setuid and setgid kept after the chown`, async () => {
      const rootfs = join(dir, 'rootfs');
      const report = await unpack(rootfs, owners);
      assert.deepEqual(report, { devicesSkipped: [], xattrsSkipped: [] });
      assert.deepEqual(ids(rootfs), [shift, shift]);
      assert.deepEqual(ids(join(rootfs, 'home/user')), [1000 + shift, 1000 + shift]);
      assert.equal(statSync(join(rootfs, 'home/user')).mode & 0o7777, 0o700);
      assert.deepEqual(ids(join(rootfs, 'home/user/notes')), [1000 + shift, 100 + shift]);
      assert.deepEqual(ids(join(rootfs, 'home')), [shift, shift]); // made as a parent: root's mapped owner
      assert.deepEqual(ids(join(rootfs, 'usr/bin/sudo')), [shift, shift]);
      assert.equal(statSync(join(rootfs, 'usr/bin/sudo')).mode & 0o7777, 0o4755);
      assert.deepEqual(ids(join(rootfs, 'usr/bin/wall')), [1000 + shift, 5 + shift]);
      assert.equal(statSync(join(rootfs, 'usr/bin/wall')).mode & 0o7777, 0o2755);
      assert.deepEqual(ids(join(rootfs, 'usr/bin/link')), [1000 + shift, 1001 + shift]);
      const devNull = lstatSync(join(rootfs, 'dev/null'));
      assert.ok(devNull.isCharacterDevice());
      assert.equal(devNull.rdev, (1 << 8) | 3);
      assert.equal(devNull.mode & 0o7777, 0o666);
      const sda = lstatSync(join(rootfs, 'dev/sda'));
      assert.ok(sda.isBlockDevice());
      assert.equal(sda.rdev, 8 << 8);
      assert.deepEqual(ids(join(rootfs, 'dev/sda')), [shift, 6 + shift]);
      const fifo = lstatSync(join(rootfs, 'run/fifo'));
      assert.ok(fifo.isFIFO());
      assert.equal(fifo.mode & 0o7777, 0o620);
      assert.deepEqual(ids(join(rootfs, 'run/fifo')), [1000 + shift, 1000 + shift]);
      assert.equal(getXattr(join(rootfs, 'tagged'), 'user.test').toString(), 'kept');
    });
  }

  it('keeps user.* xattrs on tmpfs too, and a binary security.capability', async () => {
    const rootfs = join(tmpfs('tmpfs', '16m'), 'rootfs');
    const entries: LayerTestEntry[] = [
      { name: 'tagged', data: 't', pax: { 'SCHILY.xattr.user.test': 'kept' } },
      { name: 'ping', data: 'p', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': '#'.repeat(NET_BIND_CAP.length) } },
    ];
    mkdirSync(rootfs);
    const writer = new RootfsWriter(rootfs, { owners: IDENTITY });
    await writer.applyLayer(streamOf(await tarWithBinaryPax(entries, '#'.repeat(NET_BIND_CAP.length), NET_BIND_CAP)), 'layer 1');
    assert.deepEqual(writer.finish(), { devicesSkipped: [], xattrsSkipped: [] });
    assert.equal(getXattr(join(rootfs, 'tagged'), 'user.test').toString(), 'kept');
    assert.deepEqual(getXattr(join(rootfs, 'ping'), 'security.capability'), NET_BIND_CAP);
    const getcap = spawnSync('getcap', [join(rootfs, 'ping')], { encoding: 'utf8' });
    if (getcap.error === undefined) assert.match(getcap.stdout, /cap_net_bind_service[=+]ep/);
  });

  it('a full filesystem fails on the entry that filled it', async () => {
    const rootfs = join(tmpfs('small', '1m'), 'rootfs');
    mkdirSync(rootfs);
    const writer = new RootfsWriter(rootfs, { owners: IDENTITY });
    const layer = await tarOf([{ name: 'small', data: 's' }, { name: 'usr/big', data: Buffer.alloc(2 * 1024 * 1024, 1) }]);
    await assert.rejects(writer.applyLayer(streamOf(layer, 65536), 'layer 4 (sha256:abcd)'), (err: Error) => {
      assert.ok(err instanceof LayerError);
      assert.equal(err.message, 'layer 4 (sha256:abcd): entry "usr/big": write: no space left on device (ENOSPC)');
      return true;
    });
    assert.equal(readFileSync(join(rootfs, 'small'), 'utf8'), 's');
  });
});
