// The tree copy behind tmpcopyup, on temporary directories (run as root, as
// the suite is: it sets owners): what a copy must keep of each kind of file.
import assert from 'node:assert/strict';
import { chmodSync, lchownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyDirectoryContents } from '../../src/process/rootfs/copy-tree';
import { getXattr, listXattrs, setPathTimes, setXattr } from '../../src/linux/file-attrs';
import { makeFifo } from '../../src/linux/fd';
import { SyscallError } from '../../src/errors';

describe('copy-tree (tmpcopyup)', () => {
  let dir: string;
  let from: string;
  let to: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-copy-'));
    from = join(dir, 'from');
    to = join(dir, 'to');
    mkdirSync(from);
    mkdirSync(to);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps contents, owners, modes, hard links, symlinks, fifos, nanosecond times and user xattrs', () => {
    writeFileSync(join(from, 'file'), 'content\n');
    lchownSync(join(from, 'file'), 7, 8);
    chmodSync(join(from, 'file'), 0o2755);
    setXattr(join(from, 'file'), 'user.note', Buffer.from('v'));
    linkSync(join(from, 'file'), join(from, 'again'));
    symlinkSync('file', join(from, 'link'));
    lchownSync(join(from, 'link'), 9, 10);
    makeFifo(join(from, 'fifo'), 0o600);
    mkdirSync(join(from, 'd'), 0o700);
    writeFileSync(join(from, 'd', 'inner'), 'inner\n');
    setPathTimes(join(from, 'd', 'inner'), 1_000_000_000_123_456_789n, 1_000_000_000_987_654_321n);
    setPathTimes(join(from, 'd'), 1_200_000_000_000_000_001n, 1_200_000_000_000_000_002n);

    copyDirectoryContents(from, to, '/etc');

    const file = lstatSync(join(to, 'file'), { bigint: true });
    assert.equal(readFileSync(join(to, 'file'), 'utf8'), 'content\n');
    assert.deepEqual([Number(file.mode) & 0o7777, Number(file.uid), Number(file.gid), Number(file.nlink)], [0o2755, 7, 8, 2]);
    assert.equal(lstatSync(join(to, 'again'), { bigint: true }).ino, file.ino);
    assert.deepEqual(listXattrs(join(to, 'file')), ['user.note']);
    assert.equal(getXattr(join(to, 'file'), 'user.note').toString(), 'v');
    assert.equal(readlinkSync(join(to, 'link')), 'file');
    assert.deepEqual([lstatSync(join(to, 'link')).uid, lstatSync(join(to, 'link')).gid], [9, 10]);
    assert.ok(lstatSync(join(to, 'fifo')).isFIFO());
    const inner = lstatSync(join(to, 'd', 'inner'), { bigint: true });
    assert.deepEqual([inner.atimeNs, inner.mtimeNs], [1_000_000_000_123_456_789n, 1_000_000_000_987_654_321n]);
    const d = lstatSync(join(to, 'd'), { bigint: true });
    assert.deepEqual([Number(d.mode) & 0o7777, d.mtimeNs], [0o700, 1_200_000_000_000_000_002n]);
  });

  it('names the container path when a copy fails', () => {
    writeFileSync(join(from, 'taken'), 'x');
    writeFileSync(join(to, 'taken'), 'already here');
    assert.throws(
      () => copyDirectoryContents(from, to, '/etc'),
      (e: unknown) => e instanceof SyscallError && e.message === 'copyfile(/etc/taken): EEXIST',
    );
  });
});
