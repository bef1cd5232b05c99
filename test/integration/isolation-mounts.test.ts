// The container's filesystem, checked from inside real containers and from
// the host: tmpfs contents stay in the container, a read-only root refuses
// writes, bind mounts (dirs and files, ro and rw) show and reach the host as
// configured, mount options apply, /dev has the right nodes and links.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isolated, lines, mountinfoEntry, waitFor } from './isolation-common';

describe('isolation: mounts and devices', function () {
  this.timeout(60000);

  it('keeps what the container writes in a tmpfs mount out of the host directory under it', isolated(async (fx) => {
    const bundle = fx.bundle(['sh', '-c', 'echo secret > /scratch/file && ls /scratch && echo ready; exec sleep 1000'], (spec) => {
      spec.mounts!.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] });
    });
    const c = fx.detach(bundle);
    await waitFor('the container to write its file', () => c.stdout().includes('ready'));
    assert.ok(lines(c.stdout()).includes('file'), c.stdout());
    // The container's own view (through the host's /proc) has the file ...
    assert.equal(readFileSync(`/proc/${c.pid}/root/scratch/file`, 'utf8'), 'secret\n');
    // ... while the directory in the bundle, on the host, stays empty.
    const hostSide = join(bundle.rootfs, 'scratch');
    assert.ok(statSync(hostSide).isDirectory(), 'the mount point was not created in the rootfs');
    assert.deepEqual(readdirSync(hostSide), []);
  }));

  it("shows the container its rootfs as / and none of the host's mounts", isolated((fx) => {
    const bundle = fx.bundle(['cat', '/proc/self/mountinfo']);
    const r = fx.runOk(bundle);
    const entries = lines(r.stdout).map((l) => l.split(' '));
    const root = mountinfoEntry(r.stdout, '/');
    assert.ok(root, r.stdout);
    assert.ok(root.root.endsWith(`/${basename(bundle.dir)}/rootfs`), `/ is not the bundle's rootfs: ${root.root}`);
    // The host's own mounts (those not also made by the config) are not there.
    const madeByConfig = (mp: string): boolean => ['/proc', '/sys', '/dev'].some((p) => mp === p || mp.startsWith(p + '/'));
    const inside = new Set(entries.map((e) => e[4]));
    const hostOnly = lines(readFileSync('/proc/self/mountinfo', 'utf8'))
      .map((l) => l.split(' ')[4])
      .filter((mp) => mp !== '/' && !madeByConfig(mp));
    for (const mp of hostOnly) assert.ok(!inside.has(mp), `host mount ${mp} is visible in the container`);
    // Every other mount hangs below the container's own tree: the old root is gone.
    const ids = new Set(entries.map((e) => e[0]));
    for (const e of entries.filter((e) => e[4] !== '/')) assert.ok(ids.has(e[1]), `a mount whose parent is not in the container: ${e.join(' ')}`);
  }));

  it('gives the root mount the linux.rootfsPropagation asked (shared, private), seen in mountinfo inside', isolated((fx) => {
    /** The optional fields (shared:N, master:N) of the line for / in the container's mountinfo. */
    const rootTags = (propagation: 'shared' | 'private'): string[] => {
      const r = fx.runOk(fx.bundle(['cat', '/proc/self/mountinfo'], (spec) => (spec.linux!.rootfsPropagation = propagation)));
      const line = lines(r.stdout).find((l) => l.split(' ')[4] === '/');
      assert.ok(line, r.stdout);
      const fields = line.split(' ');
      return fields.slice(6, fields.indexOf('-'));
    };
    assert.ok(rootTags('shared').some((t) => t.startsWith('shared:')), 'shared root has no shared: tag');
    assert.deepEqual(rootTags('private'), [], 'a private root carries no propagation tag');
  }));

  it('refuses writes to a read-only root filesystem', isolated((fx) => {
    const script = 'touch /x 2>&1; echo "rc $?"; touch /tmp/y 2>&1; echo "rc $?"; cat /proc/self/mountinfo';
    const r = fx.runOk(fx.bundle(['sh', '-c', script], (spec) => (spec.root!.readonly = true)));
    const out = lines(r.stdout);
    assert.equal(out.filter((l) => /Read-only file system/.test(l)).length, 2, r.stdout);
    assert.deepEqual(
      out.filter((l) => l.startsWith('rc')),
      ['rc 1', 'rc 1'],
    );
    assert.ok(mountinfoEntry(r.stdout, '/')?.options.includes('ro'), r.stdout);
  }));

  it('lets the container write its root filesystem when root.readonly is false', isolated((fx) => {
    const bundle = fx.bundle(['sh', '-c', 'echo hi > /x && echo ok; cat /proc/self/mountinfo'], (spec) => (spec.root!.readonly = false));
    const r = fx.runOk(bundle);
    assert.ok(lines(r.stdout).includes('ok'), r.stdout);
    assert.ok(mountinfoEntry(r.stdout, '/')?.options.includes('rw'), r.stdout);
    assert.equal(readFileSync(join(bundle.rootfs, 'x'), 'utf8'), 'hi\n');
  }));

  it('binds host directories and files read-only and read-write', isolated((fx) => {
    const roDir = fx.dir();
    writeFileSync(join(roDir, 'hello.txt'), 'hello from the host\n');
    const rwDir = fx.dir();
    writeFileSync(join(rwDir, 'existing.txt'), 'already here\n');
    const roFile = join(fx.dir(), 'custom.conf');
    writeFileSync(roFile, 'key=value\n');
    const rwFile = join(fx.dir(), 'log.txt');
    writeFileSync(rwFile, 'first\n');
    const script = [
      'cat /mnt/ro/hello.txt',
      'touch /mnt/ro/new 2>&1; echo "ro-dir rc $?"',
      'cat /mnt/rw/existing.txt',
      'echo written > /mnt/rw/out && echo "rw-dir ok"',
      'cat /etc/custom.conf',
      'echo nope >> /etc/custom.conf 2>&1; echo "ro-file rc $?"',
      'echo second >> /data/log.txt && echo "rw-file ok"',
      'echo ==; cat /proc/self/mountinfo',
    ].join('; ');
    const bundle = fx.bundle(['sh', '-c', script], (spec) => {
      spec.mounts!.push(
        { destination: '/mnt/ro', type: 'bind', source: roDir, options: ['rbind', 'ro'] },
        { destination: '/mnt/rw', type: 'bind', source: rwDir, options: ['rbind', 'rw'] },
        { destination: '/etc/custom.conf', type: 'bind', source: roFile, options: ['bind', 'ro'] },
        { destination: '/data/log.txt', type: 'bind', source: rwFile, options: ['bind'] },
      );
    });
    const r = fx.runOk(bundle);
    const [head, mountinfo] = r.stdout.split('==\n');
    const out = lines(head);
    assert.ok(out.includes('hello from the host'), r.stdout);
    assert.ok(out.includes('ro-dir rc 1') && /Read-only file system/.test(head), r.stdout);
    assert.ok(out.includes('already here') && out.includes('rw-dir ok'), r.stdout);
    assert.ok(out.includes('key=value') && out.includes('ro-file rc 1'), r.stdout);
    assert.ok(out.includes('rw-file ok'), r.stdout);
    // What the rw mounts got reached the host; the ro ones were not changed.
    assert.equal(readFileSync(join(rwDir, 'out'), 'utf8'), 'written\n');
    assert.equal(readFileSync(rwFile, 'utf8'), 'first\nsecond\n');
    assert.ok(!existsSync(join(roDir, 'new')));
    assert.deepEqual(readdirSync(roDir), ['hello.txt']);
    assert.equal(readFileSync(roFile, 'utf8'), 'key=value\n');
    assert.ok(mountinfoEntry(mountinfo, '/mnt/ro')?.options.includes('ro'));
    assert.ok(mountinfoEntry(mountinfo, '/mnt/rw')?.options.includes('rw'));
    assert.ok(mountinfoEntry(mountinfo, '/etc/custom.conf')?.options.includes('ro'));
    // The mount points made in the rootfs hold nothing on the host side.
    assert.deepEqual(readdirSync(join(bundle.rootfs, 'mnt', 'rw')), []);
    assert.equal(readFileSync(join(bundle.rootfs, 'data', 'log.txt'), 'utf8'), '');
  }));

  it('applies nosuid, nodev and noexec to tmpfs and bind mounts', isolated((fx) => {
    const hostDir = fx.dir();
    const script = [
      'cp /bin/busybox /opts/tmp/busybox; cp /bin/busybox /opts/plain/busybox',
      '/opts/tmp/busybox true 2>&1; echo "tmp rc $?"',
      '/opts/bind/busybox true 2>&1; echo "bind rc $?"',
      '/opts/plain/busybox true 2>&1; echo "plain rc $?"',
      'echo ==; cat /proc/self/mountinfo',
    ].join('; ');
    const bundle = fx.bundle(['sh', '-c', script], (spec) => {
      spec.mounts!.push(
        { destination: '/opts/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=755'] },
        { destination: '/opts/bind', type: 'bind', source: hostDir, options: ['rbind', 'nosuid', 'nodev', 'noexec'] },
        { destination: '/opts/plain', type: 'tmpfs', source: 'tmpfs', options: ['mode=755'] },
      );
    });
    copyFileSync(join(bundle.rootfs, 'bin', 'busybox'), join(hostDir, 'busybox'));
    const r = fx.runOk(bundle);
    const [head, mountinfo] = r.stdout.split('==\n');
    for (const mp of ['/opts/tmp', '/opts/bind']) {
      const entry = mountinfoEntry(mountinfo, mp);
      assert.ok(entry, `${mp} is not mounted`);
      for (const flag of ['nosuid', 'nodev', 'noexec']) assert.ok(entry.options.includes(flag), `${mp} lacks ${flag}: ${entry.options.join(',')}`);
    }
    const plain = mountinfoEntry(mountinfo, '/opts/plain');
    assert.ok(plain && !plain.options.includes('noexec') && !plain.options.includes('nosuid'), 'options leaked onto a mount that did not ask');
    const out = lines(head);
    assert.ok(out.includes('tmp rc 126'), `a program ran from a noexec tmpfs: ${head}`);
    assert.ok(out.includes('bind rc 126'), `a program ran from a noexec bind mount: ${head}`);
    assert.ok(out.includes('plain rc 0'), head);
  }));

  it('creates the default devices, the /dev links and linux.devices entries', isolated((fx) => {
    const names = ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'mydev', 'sub/other'];
    const script = [
      `for d in ${names.join(' ')}; do echo "dev $d $(stat -c '%F %t %T %a %u %g' /dev/$d)"; done`,
      'for l in fd stdin stdout stderr ptmx; do echo "link $l $(readlink /dev/$l)"; done',
      'echo x > /dev/null && echo null-ok',
      'echo x > /dev/mydev && echo mydev-ok',
      'echo "zero $(head -c 5 /dev/sub/other | wc -c)"',
      'echo "stdin $(echo piped | cat /dev/stdin)"',
    ].join('; ');
    const bundle = fx.bundle(['sh', '-c', script], (spec) => {
      spec.linux!.devices = [
        { path: '/dev/mydev', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 0, gid: 0 },
        { path: '/dev/sub/other', type: 'c', major: 1, minor: 5, fileMode: 0o644, uid: 1000, gid: 5 },
      ];
    });
    const r = fx.runOk(bundle);
    const out = lines(r.stdout);
    const expected: Record<string, string> = {
      null: '1 3 666 0 0',
      zero: '1 5 666 0 0',
      full: '1 7 666 0 0',
      random: '1 8 666 0 0',
      urandom: '1 9 666 0 0',
      tty: '5 0 666 0 0',
      mydev: '1 3 600 0 0',
      'sub/other': '1 5 644 1000 5',
    };
    for (const [name, want] of Object.entries(expected)) {
      assert.ok(out.includes(`dev ${name} character special file ${want}`), `/dev/${name}: want ${want} in ${r.stdout}`);
    }
    for (const link of ['fd /proc/self/fd', 'stdin /proc/self/fd/0', 'stdout /proc/self/fd/1', 'stderr /proc/self/fd/2', 'ptmx pts/ptmx']) {
      assert.ok(out.includes(`link ${link}`), `/dev/${link}: ${r.stdout}`);
    }
    for (const word of ['null-ok', 'mydev-ok', 'zero 5', 'stdin piped']) assert.ok(out.includes(word), `${word} missing: ${r.stdout}`);
    // The nodes were made in the container's /dev tmpfs, not on the host.
    assert.ok(!existsSync('/dev/mydev'));
    assert.deepEqual(readdirSync(join(bundle.rootfs, 'dev')), []);
  }));
});
