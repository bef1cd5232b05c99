// The layer writer on hand-made layers (tar-stream's pack), applied in order
// into a temporary rootfs and checked on disk. Needs no root: owners are
// kept (identity) when the suite runs as root and left to the caller
// otherwise; a device node is made or reported as skipped.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { LayerError, RootfsWriter } from '../../src/image/layer';
import { paxXattrRecords } from '../../src/image/layer/tar-entries';
import { getXattr } from '../../src/linux/file-attrs';
import type { OwnerMapping } from '../../src/image/types';
import { streamOf, T0, tarOf, tarWithBinaryPax, type LayerTestEntry } from '../helpers/layer-tar';

const ROOT = process.getuid?.() === 0;
/** Identity when the suite runs as root, else leave every file to the caller. */
const OWNERS: OwnerMapping = { map: (uid, gid) => (ROOT ? { uid, gid } : null) };

/** Gives every directory under `path` u+rwx, so that a caller without CAP_DAC_OVERRIDE can remove the tree. */
function openDirectories(path: string): void {
  chmodSync(path, lstatSync(path).mode | 0o700);
  for (const e of readdirSync(path, { withFileTypes: true })) if (e.isDirectory()) openDirectories(join(path, e.name));
}

describe('image layer writer', () => {
  let dir: string;
  let rootfs: string;
  let outside: string;
  let writer: RootfsWriter;
  const apply = async (entries: LayerTestEntry[], name = 'layer 1 (sha256:test)'): Promise<void> => writer.applyLayer(streamOf(await tarOf(entries)), name);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-layer-'));
    rootfs = join(dir, 'rootfs');
    outside = join(dir, 'outside');
    mkdirSync(rootfs);
    mkdirSync(outside);
    writeFileSync(join(outside, 'canary'), 'host\n');
    writer = new RootfsWriter(rootfs, { owners: OWNERS });
  });
  afterEach(() => {
    openDirectories(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  const at = (p: string): string => join(rootfs, p);
  const outsideUntouched = (): void => assert.deepEqual(readdirSync(outside), ['canary']);

  it('writes files, directories, symlinks and hard links with their modes and times', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'x');
    await apply([
      { name: './', type: 'directory', mode: 0o750 },
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/hosts', data: 'localhost\n', mode: 0o644 },
      { name: 'bin/su', data: 'su', mode: 0o4755 },
      { name: 'big', data: big },
      { name: 'empty', data: '', mode: 0o600 },
      { name: 'etc/link', type: 'symlink', linkname: '../etc/hosts' },
      { name: 'abs', type: 'symlink', linkname: '/etc/hosts' },
      { name: 'hosts2', type: 'link', linkname: './etc/hosts' },
      { name: 'nanos', data: 'n', pax: { mtime: '1600000000.123456789' } },
      { name: 'fifo', type: 'fifo', mode: 0o640 },
    ]);
    const report = writer.finish();
    assert.deepEqual(report, { devicesSkipped: [], xattrsSkipped: [] });

    assert.equal(readFileSync(at('etc/hosts'), 'utf8'), 'localhost\n');
    assert.equal(lstatSync(at('etc/hosts')).mode & 0o7777, 0o644);
    assert.equal(lstatSync(at('bin/su')).mode & 0o7777, 0o4755);
    assert.ok(readFileSync(at('big')).equals(big));
    assert.equal(lstatSync(at('empty')).size, 0);
    assert.equal(lstatSync(at('empty')).mode & 0o7777, 0o600);
    assert.equal(readlinkSync(at('etc/link')), '../etc/hosts');
    assert.equal(readlinkSync(at('abs')), '/etc/hosts');
    assert.equal(lstatSync(at('abs')).mtimeMs, T0.getTime());
    assert.equal(lstatSync(at('hosts2')).ino, lstatSync(at('etc/hosts')).ino);
    assert.equal(lstatSync(at('hosts2')).nlink, 2);
    assert.equal(lstatSync(at('etc/hosts')).mtimeMs, T0.getTime());
    assert.equal(lstatSync(at('nanos'), { bigint: true }).mtimeNs, 1_600_000_000_123_456_789n);
    assert.ok(lstatSync(at('fifo')).isFIFO());
    assert.equal(lstatSync(at('fifo')).mode & 0o7777, 0o640);
    // Directories: mode now, times at finish() (after their content was added).
    assert.equal(statSync(rootfs).mode & 0o7777, 0o750);
    assert.equal(statSync(rootfs).mtimeMs, T0.getTime());
    assert.equal(statSync(at('etc')).mtimeMs, T0.getTime());
    // A parent no entry named: 0755.
    assert.equal(statSync(at('bin')).mode & 0o7777, 0o755);
    if (ROOT) assert.equal(lstatSync(at('bin/su')).uid, 0);
  });

  it('whiteouts remove what lower layers made, not what this layer wrote', async () => {
    await apply([
      { name: 'a/keep', data: '1' },
      { name: 'a/gone', data: '1' },
      { name: 'tree/sub/deep', data: '1' },
      { name: 'same', data: 'lower' },
    ]);
    await apply([
      { name: 'a/.wh.gone', data: '' },
      { name: '.wh.tree', data: '' },
      { name: 'new', data: 'upper' },
      { name: '.wh.new', data: '' },
      { name: '.wh.missing', data: '' },
      { name: 'nodir/.wh.x', data: '' },
      { name: 'a/.wh..wh.plnk', data: '' },
    ], 'layer 2');
    writer.finish();
    assert.deepEqual(readdirSync(at('a')), ['keep']);
    assert.equal(existsSync(at('tree')), false);
    assert.equal(readFileSync(at('new'), 'utf8'), 'upper');
    assert.equal(existsSync(at('nodir')), false);
    assert.equal(readFileSync(at('same'), 'utf8'), 'lower');
  });

  it('an opaque marker empties its directory of lower entries, before or after the layer\'s own', async () => {
    await apply([
      { name: 'before/old', data: '1' },
      { name: 'before/olddir/x', data: '1' },
      { name: 'before/kept/old-inside', data: '1' },
      { name: 'after/old', data: '1' },
      { name: 'after/olddir/x', data: '1' },
      { name: 'after/kept/old-inside', data: '1' },
      { name: 'other/old', data: '1' },
    ]);
    await apply([
      { name: 'before/', type: 'directory' },
      { name: 'before/.wh..wh..opq', data: '' },
      { name: 'before/new', data: '2' },
      { name: 'before/kept/new-inside', data: '2' },
      { name: 'after/', type: 'directory' },
      { name: 'after/new', data: '2' },
      { name: 'after/kept/new-inside', data: '2' },
      { name: 'after/.wh..wh..opq', data: '' },
    ], 'layer 2');
    writer.finish();
    for (const d of ['before', 'after']) {
      assert.deepEqual(readdirSync(at(d)).sort(), ['kept', 'new'], d);
      assert.deepEqual(readdirSync(at(`${d}/kept`)), ['new-inside'], d);
    }
    assert.deepEqual(readdirSync(at('other')), ['old']);
    assert.equal(existsSync(at('before/.wh..wh..opq')), false);
  });

  it('replaces what is at an entry\'s name, except a directory by a directory', async () => {
    await apply([
      { name: 'f2d', data: 'file' },
      { name: 'd2f/x', data: 'x' },
      { name: 'd2l/x', data: 'x' },
      { name: 'd2d/', type: 'directory', mode: 0o700 },
      { name: 'd2d/x', data: 'x' },
      { name: 'l2f', type: 'symlink', linkname: '/etc' },
      { name: 'hard', data: 'shared' },
      { name: 'hard2', type: 'link', linkname: 'hard' },
    ]);
    await apply([
      { name: 'f2d/', type: 'directory' },
      { name: 'f2d/y', data: 'y' },
      { name: 'd2f', data: 'now a file' },
      { name: 'd2l', type: 'symlink', linkname: 'f2d' },
      { name: 'd2d/', type: 'directory', mode: 0o751 },
      { name: 'l2f', data: 'not through the link' },
      { name: 'hard2', data: 'replaced, not written through' },
    ], 'layer 2');
    writer.finish();
    assert.equal(readFileSync(at('f2d/y'), 'utf8'), 'y');
    assert.equal(readFileSync(at('d2f'), 'utf8'), 'now a file');
    assert.equal(readlinkSync(at('d2l')), 'f2d');
    assert.deepEqual(readdirSync(at('d2d')), ['x']);
    assert.equal(statSync(at('d2d')).mode & 0o7777, 0o751);
    assert.ok(lstatSync(at('l2f')).isFile());
    assert.equal(readFileSync(at('hard'), 'utf8'), 'shared');
    assert.equal(lstatSync(at('hard')).nlink, 1);
  });

  it('an entry named twice in one layer: the last one wins, a directory keeps what the layer put in it', async () => {
    await apply([
      // p is made by the layer (as d's parent): nothing from below can be in it
      { name: 'p/d/', type: 'directory', mode: 0o700 },
      { name: 'p/d/f', data: 'first' },
      { name: 'p/d/kept', data: 'k' },
      { name: 'p/d/', type: 'directory', mode: 0o750 },
      { name: 'p/d/f', data: 'second' },
      { name: 'p/d/l', type: 'symlink', linkname: 'f' },
      { name: 'p/d/l', type: 'symlink', linkname: 'g' },
    ]);
    writer.finish();
    assert.equal(readFileSync(at('p/d/f'), 'utf8'), 'second');
    assert.equal(readFileSync(at('p/d/kept'), 'utf8'), 'k');
    assert.equal(readlinkSync(at('p/d/l')), 'g');
    assert.equal(statSync(at('p/d')).mode & 0o7777, 0o750);
  });

  it('a directory whose mode denies its owner writing still takes entries, and gets its mode at finish()', async () => {
    await apply([
      { name: 'ro/', type: 'directory', mode: 0o555 },
      { name: 'ro/sub/', type: 'directory', mode: 0o500 },
      { name: 'ro/sub/f', data: 'f' },
    ]);
    await apply([{ name: 'ro/sub/.wh.f', data: '' }, { name: 'ro/sub/g', data: 'g' }], 'layer 2');
    writer.finish();
    assert.equal(statSync(at('ro')).mode & 0o7777, 0o555);
    assert.equal(statSync(at('ro/sub')).mode & 0o7777, 0o500);
    assert.deepEqual(readdirSync(at('ro/sub')), ['g']);
    assert.equal(statSync(at('ro/sub')).mtimeMs, T0.getTime());
  });

  it('makes device nodes, or reports them skipped when the caller may not', async () => {
    await apply([
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660 },
    ]);
    const report = writer.finish();
    if (ROOT) {
      assert.deepEqual(report.devicesSkipped, []);
      const st = lstatSync(at('dev/null'));
      assert.ok(st.isCharacterDevice());
      assert.equal(st.rdev, (1 << 8) | 3);
      assert.equal(st.mode & 0o7777, 0o666);
      assert.ok(lstatSync(at('dev/loop9')).isBlockDevice());
    } else {
      assert.deepEqual(report.devicesSkipped, ['dev/null', 'dev/loop9']);
      assert.equal(existsSync(at('dev/null')), false);
    }
  });

  it('keeps an xattr value\'s bytes as the archive holds them; lists those the filesystem refuses', async () => {
    const value = Buffer.from([0x01, 0xff, 0x00, 0xfe, 0x80, 0x41]);
    const bytes = await tarWithBinaryPax(
      [
        { name: 'f', data: 'f', pax: { 'SCHILY.xattr.user.bin': '@@@@@@', 'SCHILY.xattr.user.text': 'é' } },
        // Linux refuses user.* attributes on a symlink (EPERM).
        { name: 'l', type: 'symlink', linkname: 'f', pax: { 'SCHILY.xattr.user.x': 'v' } },
      ],
      '@@@@@@',
      value,
    );
    assert.deepEqual(paxXattrRecords(Buffer.from(`26 SCHILY.xattr.user.a=\u0000\u00ff\n10 path=p\n`, 'latin1')), { 'SCHILY.xattr.user.a': Buffer.from([0, 0xff]) });

    await writer.applyLayer(streamOf(bytes), 'layer');
    const report = writer.finish();
    if (report.xattrsSkipped.includes('f: user.bin')) {
      assert.deepEqual(report.xattrsSkipped.sort(), ['f: user.bin', 'f: user.text', 'l: user.x']); // /tmp keeps no user.* attributes
      return;
    }
    assert.deepEqual(report.xattrsSkipped, ['l: user.x']);
    assert.deepEqual(getXattr(at('f'), 'user.bin'), value);
    assert.equal(getXattr(at('f'), 'user.text').toString('utf8'), 'é');
  });

  describe('hostile layers stay inside the rootfs', () => {
    it('takes absolute names relative to the rootfs', async () => {
      await apply([{ name: `/${outside.slice(1)}/canary`, data: 'layer' }, { name: '/abs', data: 'a' }]);
      assert.equal(readFileSync(at(`${outside}/canary`), 'utf8'), 'layer');
      assert.equal(readFileSync(at('abs'), 'utf8'), 'a');
      assert.equal(readFileSync(join(outside, 'canary'), 'utf8'), 'host\n');
    });

    it('refuses a name that climbs out, naming the entry', async () => {
      await assert.rejects(apply([{ name: 'ok', data: '' }, { name: '../../x', data: 'x' }]), (err: Error) => {
        assert.ok(err instanceof LayerError);
        assert.equal(err.message, 'layer 1 (sha256:test): entry "../../x": the name climbs out of the rootfs ("..")');
        return true;
      });
      await assert.rejects(apply([{ name: 'a/../../x', data: 'x' }]), /entry "a\/\.\.\/\.\.\/x": the name climbs out/);
      assert.equal(existsSync(join(dir, 'x')), false);
    });

    it('writes through a symlink to "/", "../../.." or a host directory inside the rootfs', async () => {
      await apply([
        { name: 'root', type: 'symlink', linkname: '/' },
        { name: 'up/', type: 'directory' },
        { name: 'up/up', type: 'symlink', linkname: '../../../../..' },
        { name: 'host', type: 'symlink', linkname: outside },
        { name: 'rel', type: 'symlink', linkname: `../../../../../../../..${outside}` },
        { name: 'root/a', data: 'a' },
        { name: 'up/up/b', data: 'b' },
        { name: 'host/canary', data: 'layer' },
        { name: 'rel/c/d', data: 'd' },
      ]);
      writer.finish();
      assert.equal(readFileSync(at('a'), 'utf8'), 'a');
      assert.equal(readFileSync(at('b'), 'utf8'), 'b');
      assert.equal(readFileSync(at(`${outside}/canary`), 'utf8'), 'layer');
      assert.equal(readFileSync(at(`${outside}/c/d`), 'utf8'), 'd');
      outsideUntouched();
      assert.equal(readFileSync(join(outside, 'canary'), 'utf8'), 'host\n');
    });

    it('a directory replaced by a symlink to a host directory, then written through, stays inside', async () => {
      await apply([{ name: 'd/', type: 'directory' }, { name: 'd/old', data: 'o' }]);
      await apply([{ name: 'd', type: 'symlink', linkname: outside }, { name: 'd/new', data: 'n' }], 'layer 2');
      await apply([
        { name: 'e/', type: 'directory' },
        { name: 'e/f', data: 'f' },
        { name: 'e', type: 'symlink', linkname: outside },
        { name: 'e/g', data: 'g' },
        { name: 'e/sub/h', data: 'h' },
      ], 'layer 3');
      writer.finish();
      assert.equal(readlinkSync(at('d')), outside);
      assert.deepEqual(readdirSync(at(outside)).sort(), ['g', 'new', 'sub']);
      outsideUntouched();
    });

    it('refuses a hard link that climbs out, to a missing target or to a directory; never follows the target\'s last symlink', async () => {
      await assert.rejects(apply([{ name: 'passwd', type: 'link', linkname: '../../etc/passwd' }]), /entry "passwd": hard link target "\.\.\/\.\.\/etc\/passwd" climbs out of the rootfs/);
      await assert.rejects(apply([{ name: 'l', type: 'link', linkname: 'nothing' }]), /entry "l": hard link target "nothing" does not exist/);
      await assert.rejects(apply([{ name: 'd/', type: 'directory' }, { name: 'l', type: 'link', linkname: 'd' }]), /entry "l": hard link target "d" is a directory/);
      await apply([
        { name: 'host', type: 'symlink', linkname: outside },
        { name: 'via', type: 'link', linkname: 'host/canary' }, // host/canary resolves to the rootfs' own path
      ]).then(
        () => assert.fail('linked to a missing target'),
        (err: Error) => assert.match(err.message, /hard link target "host\/canary" does not exist/),
      );
      await apply([{ name: 'sl', type: 'symlink', linkname: `${outside}/canary` }, { name: 'hl', type: 'link', linkname: 'sl' }]);
      assert.ok(lstatSync(at('hl')).isSymbolicLink());
      assert.equal(lstatSync(at('hl')).ino, lstatSync(at('sl')).ino);
      outsideUntouched();
      assert.equal(statSync(join(outside, 'canary')).nlink, 1);
    });
  });

  describe('errors', () => {
    it('a truncated archive', async () => {
      const bytes = await tarOf([{ name: 'a', data: 'x'.repeat(5000) }, { name: 'b', data: 'y' }]);
      await assert.rejects(writer.applyLayer(streamOf(bytes.subarray(0, 2048)), 'layer 3'), (err: Error) => {
        assert.ok(err instanceof LayerError);
        assert.equal(err.message, 'layer 3: truncated tar archive: it ends inside entry "a"');
        return true;
      });
      await assert.rejects(writer.applyLayer(streamOf(bytes.subarray(0, 512 * 11 + 100)), 'layer 3'), /^LayerError: layer 3: truncated tar archive: it ends inside the header after entry "a"$/);
    });

    it('not a tar archive', async () => {
      await assert.rejects(writer.applyLayer(streamOf(Buffer.alloc(4096, 'not a tar\n')), 'layer 1'), /^LayerError: layer 1: not a valid tar archive: a header's checksum is wrong/);
    });

    it('an entry type it does not write', async () => {
      await assert.rejects(apply([{ name: 'c', type: 'contiguous-file', data: 'c' }]), /entry "c": unsupported entry type "contiguous-file"/);
    });

    it('a parent that is not a directory', async () => {
      await assert.rejects(apply([{ name: 'f', data: '' }, { name: 'f/g', data: '' }]), /entry "f\/g": a parent, "\/f", is not a directory/);
    });

    it('the source stream\'s own error, as it is', async () => {
      const source = new PassThrough();
      const bytes = await tarOf([{ name: 'a', data: 'a' }]);
      const applied = writer.applyLayer(source, 'layer 1');
      source.write(bytes.subarray(0, 1024));
      setImmediate(() => source.destroy(new Error('layer 1: digest mismatch')));
      await assert.rejects(applied, /^Error: layer 1: digest mismatch$/);
    });

    it('resolves only once the stream has ended, trailing blocks read', async () => {
      const bytes = Buffer.concat([await tarOf([{ name: 'a', data: 'a' }]), Buffer.alloc(10240)]);
      const source = streamOf(bytes, 512);
      await writer.applyLayer(source, 'layer 1');
      assert.equal(source.readableEnded, true);
      assert.equal(readFileSync(at('a'), 'utf8'), 'a');
    });
  });
});
