#!/usr/bin/env node
// Assembles a busybox root filesystem from the host's busybox-static
// (Debian package busybox-static): nothing is downloaded.
//   node hack/build-rootfs.js [DEST]      default: bundles/demo/rootfs
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
const repo = path.resolve(__dirname, '..');
const dest = path.resolve(process.argv[2] || path.join(repo, 'bundles', 'demo', 'rootfs'));

function findStaticBusybox() {
  for (const candidate of BUSYBOX_CANDIDATES) {
    if (!fs.existsSync(candidate)) continue;
    const info = execFileSync('file', ['-L', candidate], { encoding: 'utf8' });
    if (/statically linked|static-pie/.test(info)) return candidate;
  }
  throw new Error('no statically linked busybox found: apt-get install busybox-static');
}

function build() {
  const busybox = findStaticBusybox();
  for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'home', 'var', 'run']) {
    fs.mkdirSync(path.join(dest, dir), { recursive: true });
  }
  fs.chmodSync(path.join(dest, 'tmp'), 0o1777);
  fs.copyFileSync(busybox, path.join(dest, 'bin', 'busybox'));
  fs.chmodSync(path.join(dest, 'bin', 'busybox'), 0o755);
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    const link = path.join(dest, 'bin', applet);
    if (applet === 'busybox' || fs.existsSync(link)) continue;
    fs.symlinkSync('busybox', link);
  }
  fs.writeFileSync(path.join(dest, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  fs.writeFileSync(path.join(dest, 'etc', 'group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  fs.writeFileSync(path.join(dest, 'etc', 'hostname'), 'busybox\n');
}

build();
process.stdout.write(`rootfs ready: ${dest}\n`);
