import assert from 'node:assert/strict';
import { parseMountOptions, MS, BIND_REMOUNT_FLAGS, RECURSIVE_OPTION_NAMES, impossibleMountOption, mountOptionKind } from '../../src/linux/mount-options';
import { MOUNT_ATTR } from '../../src/linux/mount-api';

describe('mount options', () => {
  it('turns flag words into mount(2) flags and keeps the rest as data', () => {
    const p = parseMountOptions(['nosuid', 'noexec', 'nodev', 'mode=755', 'size=65536k']);
    assert.equal(p.flags, MS.NOSUID | MS.NOEXEC | MS.NODEV);
    assert.deepEqual(p.data, ['mode=755', 'size=65536k']);
    assert.deepEqual(p.propagation, []);
  });

  it('lets a later word undo an earlier one and remembers what was cleared', () => {
    const p = parseMountOptions(['ro', 'rw', 'nosuid', 'suid']);
    assert.equal(p.flags, 0);
    assert.equal(p.cleared, MS.RDONLY | MS.NOSUID);
  });

  it('separates propagation from the mount flags', () => {
    const p = parseMountOptions(['rbind', 'rslave', 'private']);
    assert.equal(p.flags, MS.BIND | MS.REC);
    assert.deepEqual(p.propagation, [MS.SLAVE | MS.REC, MS.PRIVATE]);
  });

  it('knows the atime family', () => {
    assert.equal(parseMountOptions(['relatime']).flags, MS.RELATIME);
    assert.equal(parseMountOptions(['strictatime']).flags, MS.STRICTATIME);
    assert.equal(parseMountOptions(['noatime', 'nodiratime']).flags, MS.NOATIME | MS.NODIRATIME);
  });

  it('marks read-only as a flag that a bind mount applies by remount', () => {
    assert.ok(BIND_REMOUNT_FLAGS & MS.RDONLY);
    assert.ok(!(BIND_REMOUNT_FLAGS & MS.BIND));
  });
});

describe('recursive mount options (mount_setattr with AT_RECURSIVE)', () => {
  const A = MOUNT_ATTR;

  it('leaves mount_setattr out when no recursive option is given', () => {
    assert.equal(parseMountOptions(['rbind', 'ro', 'nosuid']).recursive, undefined);
  });

  it('turns each flag word into attr_set or attr_clr, a later word undoing an earlier one', () => {
    assert.deepEqual(parseMountOptions(['rro', 'rnosuid', 'rnodev', 'rnoexec', 'rnodiratime', 'rnosymfollow']).recursive, {
      set: A.RDONLY | A.NOSUID | A.NODEV | A.NOEXEC | A.NODIRATIME | A.NOSYMFOLLOW,
      clear: 0,
    });
    assert.deepEqual(parseMountOptions(['rrw', 'rsuid', 'rdev', 'rexec', 'rdiratime', 'rsymfollow']).recursive, {
      set: 0,
      clear: A.RDONLY | A.NOSUID | A.NODEV | A.NOEXEC | A.NODIRATIME | A.NOSYMFOLLOW,
    });
    assert.deepEqual(parseMountOptions(['rro', 'rrw']).recursive, { set: 0, clear: A.RDONLY });
    assert.deepEqual(parseMountOptions(['rrw', 'rro']).recursive, { set: A.RDONLY, clear: 0 });
  });

  it('keeps the recursive words out of the mount(2) flags and the filesystem data', () => {
    const p = parseMountOptions(['rbind', 'rro', 'rnoexec']);
    assert.equal(p.flags, MS.BIND | MS.REC);
    assert.deepEqual(p.data, []);
  });

  it('sets one atime value with the whole atime field in attr_clr, as the kernel requires', () => {
    assert.deepEqual(parseMountOptions(['rnoatime']).recursive, { set: A.NOATIME, clear: A.ATIME_MASK });
    assert.deepEqual(parseMountOptions(['rstrictatime']).recursive, { set: A.STRICTATIME, clear: A.ATIME_MASK });
    assert.deepEqual(parseMountOptions(['rrelatime']).recursive, { set: A.RELATIME, clear: A.ATIME_MASK });
    assert.deepEqual(parseMountOptions(['rnoatime', 'rro']).recursive, { set: A.NOATIME | A.RDONLY, clear: A.ATIME_MASK });
  });

  it('reads ratime, rnostrictatime and rnorelatime as the kernel default unless already satisfied', () => {
    assert.deepEqual(parseMountOptions(['rnoatime', 'ratime']).recursive, { set: A.RELATIME, clear: A.ATIME_MASK });
    assert.deepEqual(parseMountOptions(['rstrictatime', 'ratime']).recursive, { set: A.STRICTATIME, clear: A.ATIME_MASK });
    assert.deepEqual(parseMountOptions(['rstrictatime', 'rnostrictatime']).recursive, { set: A.RELATIME, clear: A.ATIME_MASK });
    assert.deepEqual(parseMountOptions(['rnoatime', 'rnostrictatime']).recursive, { set: A.NOATIME, clear: A.ATIME_MASK });
    // rnorelatime only takes back an earlier rrelatime: every mount keeps its own atime.
    assert.equal(parseMountOptions(['rrelatime', 'rnorelatime']).recursive, undefined);
    assert.deepEqual(parseMountOptions(['rnoatime', 'rnorelatime']).recursive, { set: A.NOATIME, clear: A.ATIME_MASK });
  });

  it("knows runc's eighteen recursive words and no others", () => {
    assert.equal(RECURSIVE_OPTION_NAMES.length, 18);
    for (const name of RECURSIVE_OPTION_NAMES) assert.equal(mountOptionKind(name), 'recursive', name);
    for (const name of ['rdirsync', 'rsync', 'rmand', 'rlazytime']) {
      assert.equal(mountOptionKind(name), 'data', name);
      assert.match(impossibleMountOption(name) ?? '', new RegExp(`^"${name}": "${name.slice(1)}" has no recursive form`));
    }
    // An r-word that is no flag's recursive form may be a filesystem's own option.
    assert.equal(impossibleMountOption('rootcontext=x'), undefined);
    assert.equal(impossibleMountOption('rro'), undefined);
  });
});

describe('mount extensions', () => {
  it('marks tmpcopyup and copy-symlink and passes neither to the filesystem', () => {
    const p = parseMountOptions(['tmpcopyup', 'mode=755', 'copy-symlink']);
    assert.equal(p.tmpcopyup, true);
    assert.equal(p.copySymlink, true);
    assert.deepEqual(p.data, ['mode=755']);
    const none = parseMountOptions(['mode=755']);
    assert.equal(none.tmpcopyup, false);
    assert.equal(none.copySymlink, false);
  });

  it('leaves idmap and ridmap to the id-mapping code', () => {
    assert.equal(mountOptionKind('idmap'), 'idmap');
    assert.deepEqual(parseMountOptions(['rbind', 'idmap', 'ridmap']).data, []);
  });
});
