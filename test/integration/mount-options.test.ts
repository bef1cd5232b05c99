// Mount options beyond mount(2)'s one-mount flags, checked from inside real
// containers: the recursive options (rro, rnoexec... through mount_setattr on
// a bind with a submount, and on a tmpfs), tmpcopyup (a tmpfs /etc that
// starts with the image's files, owners, modes, links, times and xattrs),
// copy-symlink, and the refusals that leave nothing behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getXattr, setXattr } from '../../src/linux/file-attrs';
import type { Spec } from '../../src/spec/types';
import { mountsUnder } from '../helpers/harness';
import { addNamespace, clip, isolated, lines, mountinfoEntry, waitFor, type Fixture } from './isolation-common';

/**
 * A host directory of the test's own with a tmpfs mounted on its `sub`,
 * whose mount (not superblock) flags are then `mountFlags`; `unmount` undoes it.
 */
function dirWithSubmount(fx: Fixture, mountFlags?: string): { dir: string; unmount: () => void } {
  const dir = fx.dir('tsrun-rec-src-');
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  const unmount = (): void => mountsUnder(dir).reverse().forEach((mp) => spawnSync('umount', [mp]));
  const commands = [['-t', 'tmpfs', '-o', 'size=1m', 'tsrun-test-sub', sub]];
  if (mountFlags !== undefined) commands.push(['-o', `remount,bind,${mountFlags}`, sub]);
  for (const args of commands) {
    const r = spawnSync('mount', args, { encoding: 'utf8' });
    if (r.status !== 0) {
      unmount();
      throw new Error(`mount ${args.join(' ')}: ${r.stderr}`);
    }
  }
  return { dir, unmount };
}

const writeProbe = (path: string): string => `echo x > ${path} 2>/dev/null && echo "${path} writable" || echo "${path} refused"`;

describe('mount options: recursive flags, tmpcopyup, copy-symlink', function () {
  this.timeout(60000);

  it('rro and rnoexec reach a submount of the bound directory; plain ro does not', isolated((fx) => {
    const { dir, unmount } = dirWithSubmount(fx);
    try {
      const script = [writeProbe('/rec/top'), writeProbe('/rec/sub/f'), writeProbe('/plain/sub/g'), 'echo ==', 'cat /proc/self/mountinfo'].join('; ');
      const bundle = fx.bundle(['sh', '-c', script], (spec) => {
        spec.mounts!.push({ destination: '/rec', type: 'bind', source: dir, options: ['rbind', 'rro', 'rnoexec', 'rnosuid', 'rnoatime'] });
        spec.mounts!.push({ destination: '/plain', type: 'bind', source: dir, options: ['rbind', 'ro'] });
      });
      const r = fx.runOk(bundle);
      const [probes, mountinfo] = r.stdout.split('==\n');
      assert.deepEqual(lines(probes), ['/rec/top refused', '/rec/sub/f refused', '/plain/sub/g writable'], clip(r.stderr));
      for (const mp of ['/rec', '/rec/sub']) {
        const options = mountinfoEntry(mountinfo, mp)?.options ?? [];
        for (const want of ['ro', 'noexec', 'nosuid', 'noatime']) assert.ok(options.includes(want), `${mp} lacks ${want}: ${options.join(',')}`);
      }
      assert.ok(mountinfoEntry(mountinfo, '/plain/sub')?.options.includes('rw'), clip(mountinfo));
      assert.equal(readFileSync(join(dir, 'sub', 'g'), 'utf8'), 'x\n');
    } finally {
      unmount();
    }
  }));

  it('rrw and rexec clear flags a submount has, and rstrictatime replaces its atime mode', isolated((fx) => {
    const { dir, unmount } = dirWithSubmount(fx, 'ro,noexec,nodiratime');
    try {
      const script = [writeProbe('/rec/sub/f'), 'echo ==', 'cat /proc/self/mountinfo'].join('; ');
      const bundle = fx.bundle(['sh', '-c', script], (spec) => {
        spec.mounts!.push({ destination: '/rec', type: 'bind', source: dir, options: ['rbind', 'rrw', 'rexec', 'rdiratime', 'rstrictatime'] });
      });
      const r = fx.runOk(bundle);
      const [probes, mountinfo] = r.stdout.split('==\n');
      assert.deepEqual(lines(probes), ['/rec/sub/f writable'], clip(r.stderr));
      const options = mountinfoEntry(mountinfo, '/rec/sub')?.options ?? [];
      assert.ok(options.includes('rw'), options.join(','));
      for (const gone of ['noexec', 'nodiratime', 'relatime', 'noatime']) assert.ok(!options.includes(gone), `${gone} still set: ${options.join(',')}`);
    } finally {
      unmount();
    }
  }));

  it('applies recursive options to a mount that is not a bind (a tmpfs with rro)', isolated((fx) => {
    const script = [writeProbe('/scratch/f'), 'echo ==', 'cat /proc/self/mountinfo'].join('; ');
    const bundle = fx.bundle(['sh', '-c', script], (spec) => {
      spec.mounts!.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['rro', 'rnodev', 'mode=755'] });
    });
    const r = fx.runOk(bundle);
    const [probes, mountinfo] = r.stdout.split('==\n');
    assert.deepEqual(lines(probes), ['/scratch/f refused'], clip(r.stderr));
    const entry = mountinfoEntry(mountinfo, '/scratch');
    assert.equal(entry?.fstype, 'tmpfs');
    assert.ok(entry?.options.includes('ro') && entry.options.includes('nodev'), entry?.options.join(','));
  }));

  it('refuses, with a clear line, a recursive option that would clear a flag locked for a user namespace', isolated((fx) => {
    const { dir, unmount } = dirWithSubmount(fx, 'nosuid');
    try {
      const bundle = fx.bundle(['true'], (spec) => {
        addNamespace(spec, 'user');
        spec.linux!.uidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
        spec.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
        spec.mounts!.push({ destination: '/rec', type: 'bind', source: dir, options: ['rbind', 'rsuid'] });
      });
      const r = fx.run(bundle);
      assert.notEqual(r.status, 0, r.stdout);
      const index = (JSON.parse(readFileSync(bundle.configPath, 'utf8')) as Spec).mounts!.length - 1;
      assert.match(lines(r.stderr).join('\n'), new RegExp(`^tsrun: .*config\\.json: /mounts/${index}: mount_setattr\\(/rec\\): EPERM: a recursive option would clear or change a flag that is locked`));
    } finally {
      unmount();
    }
  }));

  it("tmpcopyup: a tmpfs /etc starts with the image's files, owners, modes, links, times and xattrs, and takes writes the rootfs never sees", isolated(async (fx) => {
    const script = [
      'cd /etc',
      'stat -c "%n %u %g %a %h %Y" odd hard sub sub/deep',
      'echo "inode $(stat -c %i odd) $(stat -c %i hard)"',
      'echo "link $(readlink link)"',
      'cat passwd group hostname sub/deep',
      'echo changed > passwd && echo new > new && echo wrote',
      'grep " /etc " /proc/self/mountinfo',
      'echo ready; exec sleep 1000',
    ].join('; ');
    const bundle = fx.bundle(['sh', '-c', script], (spec) => {
      spec.mounts!.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'tmpcopyup'] });
    });
    const etc = join(bundle.rootfs, 'etc');
    writeFileSync(join(etc, 'odd'), 'odd file\n');
    chownSync(join(etc, 'odd'), 1234, 5678);
    chmodSync(join(etc, 'odd'), 0o4751);
    setXattr(join(etc, 'odd'), 'user.x', Buffer.from('kept'));
    linkSync(join(etc, 'odd'), join(etc, 'hard'));
    symlinkSync('../odd-target', join(etc, 'link'));
    mkdirSync(join(etc, 'sub'));
    writeFileSync(join(etc, 'sub', 'deep'), 'deep file\n');
    chmodSync(join(etc, 'sub'), 0o751);
    chownSync(join(etc, 'sub'), 42, 43);
    utimesSync(join(etc, 'sub', 'deep'), 1000000000, 1000000000);
    utimesSync(join(etc, 'sub'), 1100000000, 1100000000);
    const image = (name: string): string => readFileSync(join(etc, name), 'utf8');
    const passwd = image('passwd');
    const expectedText = passwd + image('group') + image('hostname') + 'deep file\n';

    const c = fx.detach(bundle);
    await waitFor('the container to report', () => c.stdout().includes('ready'));
    const out = c.stdout();
    assert.deepEqual(lines(out).slice(0, 4), ['odd 1234 5678 4751 2 ' + Math.floor(statSync(join(etc, 'odd')).mtimeMs / 1000), 'hard 1234 5678 4751 2 ' + Math.floor(statSync(join(etc, 'odd')).mtimeMs / 1000), 'sub 42 43 751 2 1100000000', 'sub/deep 0 0 644 1 1000000000'], clip(c.stderr()));
    const [, a, b] = /inode (\d+) (\d+)/.exec(out) ?? [];
    assert.equal(a, b, 'the hard link was not kept');
    assert.ok(out.includes('link ../odd-target\n'), out);
    assert.ok(out.includes(expectedText), `the image's files are not in the tmpfs: ${clip(out)}`);
    assert.ok(lines(out).includes('wrote'), clip(c.stderr()));
    assert.match(out, / \/etc rw,nosuid,nodev[^ ]* - tmpfs /);
    // The xattr, read through the container's own root; the rootfs file is untouched.
    assert.equal(getXattr(`/proc/${c.pid}/root/etc/odd`, 'user.x').toString(), 'kept');
    assert.equal(readFileSync(`/proc/${c.pid}/root/etc/passwd`, 'utf8'), 'changed\n');
    assert.equal(image('passwd'), passwd);
    assert.ok(!existsSync(join(etc, 'new')), 'a write in the tmpfs reached the rootfs');
  }));

  it('tmpcopyup with ro: the copy is made first, then the tmpfs is read-only', isolated((fx) => {
    const bundle = fx.bundle(['sh', '-c', `cat /etc/hostname; ${writeProbe('/etc/x')}`], (spec) => {
      spec.mounts!.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'tmpcopyup'] });
    });
    const r = fx.runOk(bundle);
    assert.deepEqual(lines(r.stdout), [readFileSync(join(bundle.rootfs, 'etc', 'hostname'), 'utf8').trim(), '/etc/x refused'], clip(r.stderr));
  }));

  it('copy-symlink makes the source link itself in the container; without a link it binds as usual', isolated((fx) => {
    const src = fx.dir('tsrun-copy-symlink-');
    symlinkSync('/etc/hostname', join(src, 'link'));
    writeFileSync(join(src, 'plain'), 'plain file\n');
    const script = 'readlink /mnt/link; cat /mnt/link; cat /mnt/plain; echo ==; cat /proc/self/mountinfo';
    const bundle = fx.bundle(['sh', '-c', script], (spec) => {
      spec.mounts!.push({ destination: '/mnt/link', type: 'bind', source: join(src, 'link'), options: ['bind', 'copy-symlink'] });
      spec.mounts!.push({ destination: '/mnt/plain', type: 'bind', source: join(src, 'plain'), options: ['bind', 'ro', 'copy-symlink'] });
    });
    const r = fx.runOk(bundle);
    const [out, mountinfo] = r.stdout.split('==\n');
    // The link resolves in the container: to the image's /etc/hostname, not the host's.
    const imageHostname = readFileSync(join(bundle.rootfs, 'etc', 'hostname'), 'utf8').trim();
    assert.deepEqual(lines(out), ['/etc/hostname', imageHostname, 'plain file'], clip(r.stderr));
    assert.equal(mountinfoEntry(mountinfo, '/mnt/link'), undefined, 'a mount was made for a copied link');
    assert.ok(mountinfoEntry(mountinfo, '/mnt/plain')?.options.includes('ro'), clip(mountinfo));
  }));

  it('refuses tmpcopyup on a bind mount and unknown words on a bind mount at once, leaving nothing', isolated((fx) => {
    const src = fx.dir();
    for (const [options, message] of [
      [['rbind', 'tmpcopyup'], '"tmpcopyup" applies to tmpfs mounts only, not to a bind mount'],
      [['rbind', 'noexce'], '"noexce" is not a mount flag, and a bind mount takes no filesystem options (the kernel would ignore it)'],
    ] as const) {
      const bundle = fx.bundle(['true'], (spec) => spec.mounts!.push({ destination: '/mnt', type: 'bind', source: src, options: [...options] }));
      const index = (JSON.parse(readFileSync(bundle.configPath, 'utf8')) as Spec).mounts!.length - 1;
      const r = fx.run(bundle);
      assert.notEqual(r.status, 0);
      assert.deepEqual(lines(r.stderr), [`tsrun: config.json: /mounts/${index}/options/1: ${message}`]);
      assert.ok(!existsSync(join(bundle.rootfs, 'mnt')), 'the mount point was made before the refusal');
    }
  }));
});
