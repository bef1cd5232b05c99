import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secureJoin } from '../../src/process/rootfs/secure-join';

describe('secureJoin', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsrun-sj-'));
    mkdirSync(join(root, 'etc'));
    mkdirSync(join(root, 'usr/lib'), { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('joins plain paths', () => {
    assert.equal(secureJoin(root, '/etc/passwd'), `${root}/etc/passwd`);
    assert.equal(secureJoin(root, '/'), root);
  });

  it('stops .. at the root', () => {
    assert.equal(secureJoin(root, '/../../etc'), `${root}/etc`);
    assert.equal(secureJoin(root, '/usr/../../../x'), `${root}/x`);
  });

  it('keeps an absolute symlink inside the root', () => {
    symlinkSync('/etc', join(root, 'abs'));
    assert.equal(secureJoin(root, '/abs/hosts'), `${root}/etc/hosts`);
  });

  it('keeps a relative symlink that climbs out inside the root', () => {
    symlinkSync('../../../../../../tmp', join(root, 'usr/lib/up'));
    assert.equal(secureJoin(root, '/usr/lib/up/file'), `${root}/tmp/file`);
  });

  it('follows chains and resolves .. after a missing component lexically', () => {
    symlinkSync('lib', join(root, 'usr/l2'));
    symlinkSync('/usr/l2', join(root, 'l1'));
    assert.equal(secureJoin(root, '/l1/x'), `${root}/usr/lib/x`);
    assert.equal(secureJoin(root, '/missing/../etc'), `${root}/etc`);
  });

  it('refuses a symlink loop', () => {
    symlinkSync('/loop', join(root, 'loop'));
    assert.throws(() => secureJoin(root, '/loop/x'), /too many levels of symbolic links/);
  });
});
