// Escapes through mounts, attempted with real containers: mount destinations
// that symlinks in the image point at the host (CVE-2021-30465 class), and
// mounts over /proc that would hide what masked and read-only paths guard or
// fake /proc/self/attr (CVE-2019-16884 class), including through symlinks;
// and, from inside, remounting proc or unmounting a masked path.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Mount } from '../../src/spec/types';
import { mountsUnder } from '../helpers/harness';
import { clip, isolated, lines, mountinfoEntry } from './isolation-common';
import { assertRefused } from './security-common';

describe('escapes: mounts (CVE-2021-30465, CVE-2019-16884 classes)', function () {
  this.timeout(60000);

  describe('mount destinations through symlinks in the image', () => {
    it('keeps every destination inside the rootfs: the host paths the links name are not touched', isolated((fx) => {
      // Host directories the image's links point at; all must stay empty and unmounted.
      const abs = fx.dir('tsrun-host-target-');
      const rel = fx.dir('tsrun-host-target2-');
      const fileDir = fx.dir('tsrun-host-target3-');
      const dotdot = fx.dir('tsrun-host-target4-');
      const source = fx.dir('tsrun-bind-source-');
      writeFileSync(join(source, 'from-source'), 'source file\n');
      const mounts: Mount[] = [
        { destination: '/evil', type: 'tmpfs', source: 'tmpfs' },
        { destination: '/evil2/sub', type: 'tmpfs', source: 'tmpfs' },
        { destination: '/evil3', type: 'bind', source: join(source, 'from-source'), options: ['bind'] },
        { destination: `/../../../..${dotdot}/sub`, type: 'tmpfs', source: 'tmpfs' },
        // A relative source is the bundle's path, as the spec says, even with ..
        { destination: '/from-relative', type: 'bind', source: '', options: ['rbind', 'ro'] },
      ];
      const script = [
        'cat /proc/self/mountinfo',
        'echo ==',
        'echo in-tmpfs > /evil/canary && echo wrote-evil',
        'echo in-tmpfs > /evil2/sub/canary && echo wrote-evil2',
        'cat /evil3',
        `echo in-tmpfs > ${dotdot}/sub/canary && echo wrote-dotdot`,
        'cat /from-relative/from-source',
      ].join('; ');
      const bundle = fx.bundle(['sh', '-c', script], (spec) => spec.mounts!.push(...mounts));
      mounts[4].source = relative(bundle.dir, source);
      assert.match(mounts[4].source!, /^\.\.\//);
      const spec = JSON.parse(readFileSync(bundle.configPath, 'utf8'));
      spec.mounts[spec.mounts.length - 1].source = mounts[4].source;
      bundle.writeConfig(spec);
      symlinkSync(abs, join(bundle.rootfs, 'evil'));
      symlinkSync(`../../../../../../../..${rel}`, join(bundle.rootfs, 'evil2'));
      symlinkSync(`${fileDir}/planted`, join(bundle.rootfs, 'evil3'));

      const r = fx.runOk(bundle);
      const [mountinfo, rest] = r.stdout.split('==\n');
      assert.deepEqual(lines(rest), ['wrote-evil', 'wrote-evil2', 'source file', 'wrote-dotdot', 'source file'], clip(r.stderr));
      // Inside, each mount is where the link leads within the container's own root.
      assert.equal(mountinfoEntry(mountinfo, abs)?.fstype, 'tmpfs', `no tmpfs at ${abs}: ${clip(mountinfo)}`);
      assert.equal(mountinfoEntry(mountinfo, `${rel}/sub`)?.fstype, 'tmpfs');
      assert.ok(mountinfoEntry(mountinfo, `${fileDir}/planted`), `no bind at ${fileDir}/planted`);
      assert.equal(mountinfoEntry(mountinfo, `${dotdot}/sub`)?.fstype, 'tmpfs');
      // The host's directories: untouched, nothing mounted on them.
      for (const dir of [abs, rel, fileDir, dotdot]) {
        assert.deepEqual(readdirSync(dir), [], `host directory ${dir} was written`);
        assert.deepEqual(mountsUnder(dir), [], `mount on host ${dir}`);
      }
      // The mount points were made inside the rootfs, and the tmpfs data went with the tmpfs.
      assert.ok(statSync(join(bundle.rootfs, abs)).isDirectory());
      assert.ok(statSync(join(bundle.rootfs, rel, 'sub')).isDirectory());
      assert.ok(statSync(join(bundle.rootfs, fileDir, 'planted')).isFile());
      assert.ok(!existsSync(join(bundle.rootfs, abs, 'canary')));
      assert.deepEqual(readdirSync(source), ['from-source']);
    }));
  });

  describe('mounts over /proc', () => {
    const cases: Array<[string, Mount]> = [
      ['a tmpfs over /proc/sys', { destination: '/proc/sys', type: 'tmpfs', source: 'tmpfs' }],
      ['a bind over /proc/self/attr', { destination: '/proc/self/attr', type: 'bind', source: '/tmp', options: ['rbind'] }],
      ['a bind over /proc/kcore', { destination: '/proc/kcore', type: 'bind', source: '/dev/null', options: ['bind'] }],
      ['a tmpfs reaching /proc/sys through ..', { destination: '/tmp/../proc/sys', type: 'tmpfs', source: 'tmpfs' }],
    ];
    for (const [what, mount] of cases) {
      it(`refuses ${what} at create, naming /mounts/<i>/destination`, isolated((fx) => {
        let index = -1;
        const bundle = fx.bundle(['true'], (spec) => (index = spec.mounts!.push(mount) - 1));
        assertRefused(fx, bundle, fx.run(bundle), `/mounts/${index}/destination`, 'inside /proc');
      }));
    }

    it('refuses a mount that a symlink in the image leads into /proc (/myproc/sys, /pself/attr)', isolated((fx) => {
      for (const [link, target, destination] of [['myproc', '/proc', '/myproc/sys'], ['pself', '/proc/self', '/pself/attr']]) {
        let index = -1;
        const bundle = fx.bundle(['true'], (spec) => (index = spec.mounts!.push({ destination, type: 'tmpfs', source: 'tmpfs' }) - 1));
        symlinkSync(target, join(bundle.rootfs, link));
        assertRefused(fx, bundle, fx.run(bundle), `/mounts/${index}/destination`, destination, 'inside /proc');
      }
    }));

    it('allows a bind over /proc/uptime (runc\'s allowlist), seen inside', isolated((fx) => {
      const host = fx.dir();
      writeFileSync(join(host, 'uptime'), '4242.42 1234.56\n');
      const bundle = fx.bundle(['cat', '/proc/uptime'], (spec) => {
        spec.mounts!.push({ destination: '/proc/uptime', type: 'bind', source: join(host, 'uptime'), options: ['bind', 'ro'] });
      });
      assert.equal(fx.runOk(bundle).stdout, '4242.42 1234.56\n');
    }));

    it('stops container root (default capabilities) from mounting proc or unmounting masked paths', isolated((fx) => {
      const script = [
        'mount -t proc proc /tmp && echo mounted-proc',
        'umount /proc/timer_list && echo unmounted-timer_list',
        'umount /sys/firmware && echo unmounted-firmware',
        'umount -l /proc/sys && echo unmounted-proc-sys',
        'echo "timer_list $(cat /proc/timer_list | wc -c)"',
        'echo "firmware $(ls -A /sys/firmware | wc -l)"',
        'echo "id $(id -u)"',
      ].join('; ');
      const r = fx.runOk(fx.bundle(['sh', '-c', script]));
      assert.deepEqual(lines(r.stdout), ['timer_list 0', 'firmware 0', 'id 0'], clip(r.stderr));
      assert.match(r.stderr, /mount: permission denied|Operation not permitted/);
    }));
  });
});
