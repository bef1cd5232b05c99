import assert from 'node:assert/strict';
import { parseMountOptions, MS, BIND_REMOUNT_FLAGS } from '../../src/linux/mount-options';

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
