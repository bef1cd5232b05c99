// A container's /etc/hosts and /etc/resolv.conf, installed the way
// `tsrun network add` does it: from a createRuntime hook (a small node script
// calling the built etc-files module with the state on stdin), bind-mounted
// in the container's mount namespace only. Checked from inside the container
// and from the host: the image's own files are never written, a read-only
// rootfs that lacks one fails create in one line, and nothing is left.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session, waitFor } from '../helpers/session';
import { mountsUnder, tempDir, type Bundle } from '../helpers/harness';
import type { Spec } from '../../src/spec/types';
import { installEtcFiles } from '../../src/network/etc-files';
import { UserError } from '../../src/errors';

const ETC_FILES_MODULE = join(__dirname, '..', '..', 'src', 'network', 'etc-files.js');

/** What the hook hands hostsFile and resolvConf: a bridge plugin's result. */
const RESULT = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'cni-test0' }, { name: 'veth0' }, { name: 'eth0', sandbox: '/proc/1/ns/net' }],
  ips: [{ address: '10.99.0.7/24', gateway: '10.99.0.1', interface: 2 }],
};
/** The "host's" resolv.conf the hook reads: a loopback stub beside a routable server (never queried). */
const HOST_RESOLV = 'search test.example\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0\n';
const EXPECTED_RESOLV = 'search test.example\nnameserver 192.0.2.53\noptions edns0\n';
const IMAGE_HOSTS = '127.0.0.1 image-localhost\n';
const SHOW = ['sh', '-c', 'cat /etc/hosts; echo ---; cat /etc/resolv.conf'];

/** The createRuntime hook: reads the state on stdin and installs the files as `tsrun network add` would. */
function hookScript(): string {
  return `'use strict';
const fs = require('node:fs');
const path = require('node:path');
const etc = require(${JSON.stringify(ETC_FILES_MODULE)});
const [dir, hostResolv] = process.argv.slice(2);
try {
  const state = JSON.parse(fs.readFileSync(0, 'utf8'));
  const config = JSON.parse(fs.readFileSync(path.join(state.bundle, 'config.json'), 'utf8'));
  const result = ${JSON.stringify(RESULT)};
  etc.installEtcFiles(state.pid, path.resolve(state.bundle, config.root.path), path.join(dir, state.id), {
    hosts: etc.hostsFile(config.hostname || '', state.id, result),
    resolvConf: etc.resolvConf(fs.readFileSync(hostResolv, 'utf8'), result),
  }, { readonlyRoot: config.root.readonly === true });
} catch (err) {
  process.stderr.write(err.message + '\\n');
  process.exit(1);
}
`;
}

describe('network: /etc/hosts and /etc/resolv.conf from a createRuntime hook', function () {
  let s: Session;
  let work: string;
  let filesDir: string;
  let hookFile: string;
  let hostResolv: string;

  beforeEach(() => {
    s = new Session();
    work = tempDir('tsrun-etc-files-');
    filesDir = join(work, 'network');
    hookFile = join(work, 'hook.js');
    hostResolv = join(work, 'host-resolv.conf');
    writeFileSync(hookFile, hookScript());
    writeFileSync(hostResolv, HOST_RESOLV);
  });
  afterEach(() => {
    s.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  function bundle(readonly: boolean, mutate?: (spec: Spec) => void): Bundle {
    return s.bundle(SHOW, (spec) => {
      spec.root!.readonly = readonly;
      spec.hostname = 'web';
      spec.hooks = { createRuntime: [{ path: process.execPath, args: ['node', hookFile, filesDir, hostResolv] }] };
      mutate?.(spec);
    });
  }

  const expectedHosts = (id: string): string =>
    `127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost localhost.localdomain ip6-localhost ip6-loopback\n10.99.0.7\tweb ${id.slice(0, 12)}\n`;

  it('shows the files inside a created container, mounted in its namespace only, and leaves the image files as they were', async () => {
    const b = bundle(true);
    writeFileSync(join(b.rootfs, 'etc', 'hosts'), IMAGE_HOSTS);
    writeFileSync(join(b.rootfs, 'etc', 'resolv.conf'), '');
    const id = s.id('etc');
    const { pid, out } = s.create(id, b);
    assert.deepEqual(mountsUnder(b.dir), [], 'no mount on the host');
    const containerMounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((line) => line.split(' ')[4]);
    assert.ok(containerMounts.includes('/etc/hosts') && containerMounts.includes('/etc/resolv.conf'), containerMounts.join(' '));
    assert.equal(readFileSync(join(filesDir, id, 'hosts'), 'utf8'), expectedHosts(id));
    assert.equal(lstatSync(join(filesDir, id, 'hosts')).mode & 0o777, 0o644);
    s.ok(['start', id]);
    assert.ok(await waitFor(() => s.state(id).status === 'stopped', 10000));
    assert.equal(readFileSync(out.stdoutPath, 'utf8'), `${expectedHosts(id)}---\n${EXPECTED_RESOLV}`);
    assert.equal(readFileSync(join(b.rootfs, 'etc', 'hosts'), 'utf8'), IMAGE_HOSTS, 'the bundle rootfs /etc/hosts is unchanged');
    assert.equal(readFileSync(join(b.rootfs, 'etc', 'resolv.conf'), 'utf8'), '');
    s.ok(['delete', id]);
    assert.deepEqual(s.leftovers(b, id), []);
  });

  it('makes a missing /etc and its files empty in a writable rootfs, and mounts over them', () => {
    const b = bundle(false);
    rmSync(join(b.rootfs, 'etc'), { recursive: true });
    const id = s.id('etc');
    const out = s.ok(['run', '--bundle', b.dir, id]);
    assert.equal(out.stdout, `${expectedHosts(id)}---\n${EXPECTED_RESOLV}`);
    assert.deepEqual(readdirSync(join(b.rootfs, 'etc')).sort(), ['hosts', 'resolv.conf']);
    for (const name of ['hosts', 'resolv.conf']) {
      const made = lstatSync(join(b.rootfs, 'etc', name));
      assert.ok(made.isFile() && made.size === 0, `${name}: an empty mount point, never written through`);
    }
    assert.deepEqual(s.leftovers(b, id), []);
  });

  it('works in a user-namespaced container, and gives a mount point it makes to the rootfs owner', () => {
    const HOST_ROOT = 100000;
    const b = bundle(false, (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: HOST_ROOT, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: HOST_ROOT, size: 65536 }];
    });
    writeFileSync(join(b.rootfs, 'etc', 'hosts'), IMAGE_HOSTS);
    const chown = spawnSync('chown', ['-R', `${HOST_ROOT}:${HOST_ROOT}`, b.rootfs], { encoding: 'utf8' });
    assert.equal(chown.status, 0, chown.stderr);
    chmodSync(b.dir, 0o711);
    const id = s.id('etc');
    const out = s.ok(['run', '--bundle', b.dir, id]);
    assert.equal(out.stdout, `${expectedHosts(id)}---\n${EXPECTED_RESOLV}`);
    assert.equal(readFileSync(join(b.rootfs, 'etc', 'hosts'), 'utf8'), IMAGE_HOSTS);
    const made = lstatSync(join(b.rootfs, 'etc', 'resolv.conf'));
    assert.deepEqual([made.uid, made.gid, made.size], [HOST_ROOT, HOST_ROOT, 0]);
    assert.deepEqual(s.leftovers(b, id), []);
  });

  it('fails create in one line naming the path when a read-only rootfs lacks /etc/hosts, and leaves nothing', () => {
    const b = bundle(true);
    writeFileSync(join(b.rootfs, 'etc', 'resolv.conf'), '');
    const id = s.id('etc');
    const out = s.exec(['create', '--bundle', b.dir, id]);
    assert.equal(out.status, 1);
    const lines = out.stderr.trim().split('\n');
    assert.equal(lines.length, 1, out.stderr);
    assert.match(lines[0], /createRuntime hook #0 \(.*\) failed: exit status 1: /);
    assert.ok(lines[0].includes(`${join(b.rootfs, 'etc', 'hosts')}: missing, and the rootfs is read-only (root.readonly)`), lines[0]);
    assert.ok(!existsSync(join(b.rootfs, 'etc', 'hosts')), 'nothing made in the image');
    assert.ok(!existsSync(join(filesDir, id)), 'the written files are removed again');
    assert.deepEqual(s.leftovers(b, id), []);
  });
});

describe('network: installEtcFiles failing part-way', function () {
  let work: string;
  let sleeper: ChildProcess;
  let savedPath: string | undefined;

  beforeEach(async () => {
    work = tempDir('tsrun-etc-undo-');
    savedPath = process.env.PATH;
    // A mount namespace of the test's own, standing in for a container's.
    sleeper = spawn('unshare', ['--mount', '--propagation', 'private', 'sleep', '100000'], { stdio: 'ignore' });
    const ours = readlinkSync('/proc/self/ns/mnt');
    assert.ok(await waitFor(() => nsOf(sleeper.pid!) !== ours && nsOf(sleeper.pid!) !== ''), 'the namespace was made');
  });
  afterEach(async () => {
    process.env.PATH = savedPath;
    if (sleeper.exitCode === null && sleeper.signalCode === null) {
      const gone = new Promise((resolve) => sleeper.once('exit', resolve));
      sleeper.kill('SIGKILL');
      await gone;
    }
    rmSync(work, { recursive: true, force: true });
  });

  function nsOf(pid: number): string {
    try {
      return readlinkSync(`/proc/${pid}/ns/mnt`);
    } catch {
      return '';
    }
  }

  it('undoes the first mount, the mount points it made and the files it wrote when the second mount fails, in one line', () => {
    const rootfs = join(work, 'rootfs');
    // hosts there (only the umount can undo its mount: removing a mount
    // point made would detach a mount in another namespace by itself).
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc', 'hosts'), IMAGE_HOSTS);
    // mount(8) found first in PATH: refuses resolv.conf, passes hosts to the real one.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'mount'), '#!/bin/sh\ncase "$*" in *resolv.conf*) echo "mount: refused by the test" >&2; exit 32;; esac\nexec /usr/bin/mount "$@"\n', { mode: 0o755 });
    process.env.PATH = `${bin}:${savedPath}`;
    const files = join(work, 'net', 'c1');
    const pid = sleeper.pid!;
    assert.throws(
      () => installEtcFiles(pid, rootfs, files, { hosts: 'h\n', resolvConf: 'r\n' }),
      (e: unknown) =>
        e instanceof UserError && e.message === `nsenter mount --bind ${files}/resolv.conf on ${rootfs}/etc/resolv.conf: mount: refused by the test`,
    );
    const theirMounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
    assert.ok(!theirMounts.includes(rootfs), 'the hosts mount is undone');
    assert.deepEqual(readdirSync(join(rootfs, 'etc')), ['hosts'], 'the resolv.conf mount point it made is removed');
    assert.equal(readFileSync(join(rootfs, 'etc', 'hosts'), 'utf8'), IMAGE_HOSTS);
    assert.ok(!existsSync(join(work, 'net')), 'the files it wrote are removed');
  });

  it('names the call and mount(8)\'s complaint in one line when the source is not there in the namespace', () => {
    const rootfs = join(work, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc', 'hosts'), IMAGE_HOSTS);
    const net = join(work, 'net');
    mkdirSync(net);
    // Hidden in that namespace only: what is written on the host is not there.
    const hide = spawnSync('nsenter', [`--mount=/proc/${sleeper.pid}/ns/mnt`, 'mount', '-t', 'tmpfs', 'tmpfs', net], { encoding: 'utf8' });
    assert.equal(hide.status, 0, hide.stderr);
    assert.throws(
      () => installEtcFiles(sleeper.pid!, rootfs, join(net, 'c1'), { hosts: 'h\n', resolvConf: 'r\n' }),
      (e: unknown) =>
        e instanceof UserError &&
        !e.message.includes('\n') &&
        e.message.startsWith(`nsenter mount --bind ${net}/c1/hosts on ${rootfs}/etc/hosts: mount: `) &&
        !e.message.includes('dmesg'),
    );
    assert.equal(readFileSync(join(rootfs, 'etc', 'hosts'), 'utf8'), IMAGE_HOSTS);
    assert.deepEqual(readdirSync(join(rootfs, 'etc')), ['hosts'], 'the resolv.conf mount point it made is removed');
    assert.deepEqual(readdirSync(net), []);
  });

  it('names the path when a mount point cannot be made on a rootfs mounted read-only, and writes nothing', () => {
    const rootfs = join(work, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    const ro = spawnSync('nsenter', [`--mount=/proc/${sleeper.pid}/ns/mnt`, 'mount', '--bind', '-o', 'ro', rootfs, rootfs], { encoding: 'utf8' });
    assert.equal(ro.status, 0, ro.stderr);
    assert.throws(
      () => installEtcFiles(sleeper.pid!, rootfs, join(work, 'net'), { hosts: 'h\n', resolvConf: 'r\n' }),
      (e: unknown) => e instanceof UserError && e.message === `creating the mount point for the container's /etc/hosts: open(${rootfs}/etc/hosts): EROFS`,
    );
    assert.deepEqual(readdirSync(join(rootfs, 'etc')), []);
    assert.ok(!existsSync(join(work, 'net')));
  });
});
