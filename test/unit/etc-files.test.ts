// The text of a container's /etc/hosts and /etc/resolv.conf, and where in a
// rootfs their bind mounts go (symlinks kept inside the rootfs, missing mount
// points made and unmade), on a temp dir seen through this process' own
// /proc/<pid>/root.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostsFile, resolvConf } from '../../src/network/etc-files';
import { createMountPoint, findMountPoint } from '../../src/network/etc-mount-point';
import { UserError } from '../../src/errors';
import type { CniResult } from '../../src/network/types';

const ID = '0123456789abcdef0123456789abcdef';

/** What the bridge plugin returns: bridge, host veth end, then the container's eth0 (index 2). */
function bridgeResult(addresses: string[], dns?: CniResult['dns']): CniResult {
  return {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'cni0', mac: '0a:00:00:00:00:01' }, { name: 'veth1234', mac: '0a:00:00:00:00:02' }, { name: 'eth0', mac: '0a:00:00:00:00:03', sandbox: '/proc/42/ns/net' }],
    ips: addresses.map((address) => ({ address, gateway: '10.88.0.1', interface: 2 })),
    dns,
  };
}

describe('hostsFile', () => {
  it('has the localhost lines, then each container address with the hostname and the short id', () => {
    const text = hostsFile('web', ID, bridgeResult(['10.88.0.5/16', 'fd00::5/64']));
    assert.deepEqual(text.split('\n'), [
      '127.0.0.1\tlocalhost localhost.localdomain',
      '::1\tlocalhost localhost.localdomain ip6-localhost ip6-loopback',
      '10.88.0.5\tweb 0123456789ab',
      'fd00::5\tweb 0123456789ab',
      '',
    ]);
  });

  it('names the short id once when it is the hostname, and alone when there is no hostname', () => {
    assert.match(hostsFile('0123456789ab', ID, bridgeResult(['10.88.0.5/16'])), /^10\.88\.0\.5\t0123456789ab$/m);
    assert.match(hostsFile('', 'c1', bridgeResult(['10.88.0.5/16'])), /^10\.88\.0\.5\tc1$/m);
  });

  it("leaves out addresses on the host's interfaces, and has only localhost without ips", () => {
    const result = bridgeResult(['10.88.0.5/16']);
    result.ips!.push({ address: '10.88.0.1/16', interface: 0 });
    assert.doesNotMatch(hostsFile('web', ID, result), /10\.88\.0\.1/);
    assert.equal(hostsFile('web', ID, { cniVersion: '1.0.0' }).split('\n').length, 3);
  });

  it('refuses an address without a prefix length, and a name that would break the line, in one line', () => {
    assert.throws(() => hostsFile('web', ID, bridgeResult(['10.88.0.5'])), (e: unknown) => e instanceof UserError && e.message === 'CNI result: ips[0].address "10.88.0.5": not an address with a prefix length');
    assert.throws(() => hostsFile('web', ID, bridgeResult(['bogus/16'])), /ips\[0\]\.address "bogus\/16"/);
    assert.throws(() => hostsFile('a b', ID, bridgeResult([])), (e: unknown) => e instanceof UserError && !e.message.includes('\n') && /"a b"/.test(e.message));
  });
});

describe('resolvConf', () => {
  it('drops every loopback nameserver of a loopback-only host file and says why there is none', () => {
    const text = resolvConf('nameserver 127.0.0.53\nnameserver 127.1.2.3\n', bridgeResult([]));
    assert.doesNotMatch(text, /^nameserver/m);
    assert.match(text, /^# tsrun: no nameserver: the host's \(127\.0\.0\.53, 127\.1\.2\.3\) are local addresses/m);
    assert.equal(text.split('\n').filter(Boolean).length, 1);
  });

  it('keeps the routable nameservers of a mixed file, in order, and drops the loopback ones', () => {
    const text = resolvConf('nameserver 10.0.0.2\nnameserver 127.0.0.1\nnameserver 192.0.2.53\n', bridgeResult([], { nameservers: ['10.88.0.1'] }));
    assert.equal(text, 'nameserver 10.0.0.2\nnameserver 192.0.2.53\n');
  });

  it('drops IPv6 loopback in any spelling, and v4-mapped loopback, and keeps other IPv6 servers', () => {
    const host = ['nameserver ::1', 'nameserver 0:0:0:0:0:0:0:1', 'nameserver ::ffff:127.0.0.1', 'nameserver fe80::1%eth0', 'nameserver 2001:db8::53', ''].join('\n');
    assert.equal(resolvConf(host, bridgeResult([])), 'nameserver fe80::1%eth0\nnameserver 2001:db8::53\n');
  });

  it('keeps search, domain, options, sortlist and comment lines as they were', () => {
    const host = '# managed by hand\ndomain corp.example\nsearch corp.example lab.example\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsortlist 10.0.0.0/255.0.0.0\n';
    const text = resolvConf(host, bridgeResult([]));
    assert.deepEqual(text.split('\n').slice(0, 5), ['# managed by hand', 'domain corp.example', 'search corp.example lab.example', 'options edns0 trust-ad', 'sortlist 10.0.0.0/255.0.0.0']);
    assert.match(text, /^# tsrun: no nameserver/m);
  });

  it("uses the CNI result's dns when no host nameserver remains, with its search and options where the host has none", () => {
    const dns = { nameservers: ['10.88.0.1', 'fd00::1'], search: ['cni.example'], options: ['ndots:2'] };
    assert.equal(resolvConf('nameserver 127.0.0.53\n', bridgeResult([], dns)), 'nameserver 10.88.0.1\nnameserver fd00::1\nsearch cni.example\noptions ndots:2\n');
    assert.equal(
      resolvConf('search host.example\nnameserver 127.0.0.53\noptions edns0\n', bridgeResult([], dns)),
      'search host.example\noptions edns0\nnameserver 10.88.0.1\nnameserver fd00::1\n',
    );
    assert.equal(resolvConf('', bridgeResult([], { nameservers: ['10.88.0.1'], domain: 'd.example' })), 'nameserver 10.88.0.1\nsearch d.example\n');
  });

  it("says so when the host's file names no nameserver at all, and refuses a result server that is no address", () => {
    assert.match(resolvConf('search x.example\n', bridgeResult([])), /^# tsrun: no nameserver: the host's resolv.conf names none/m);
    assert.throws(() => resolvConf('', bridgeResult([], { nameservers: ['dns.example'] })), (e: unknown) => e instanceof UserError && e.message === 'CNI result: dns.nameservers[0] "dns.example": not an IP address');
  });
});

describe('etc file mount points', () => {
  let dir: string;
  let rootfs: string;
  const view = `/proc/${process.pid}/root`;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-etc-files-'));
    rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds an existing file, reached through the /proc root view but named by its rootfs path', () => {
    writeFileSync(join(rootfs, 'etc', 'hosts'), 'x');
    const point = findMountPoint(view, rootfs, '/etc/hosts');
    assert.deepEqual(point, { containerPath: '/etc/hosts', target: join(rootfs, 'etc', 'hosts'), access: view + join(rootfs, 'etc', 'hosts'), exists: true });
  });

  it('follows symlinks inside the rootfs only: an absolute or climbing link cannot leave it', () => {
    symlinkSync('/outside/hosts', join(rootfs, 'etc', 'hosts'));
    symlinkSync('../../../../../../../escaped', join(rootfs, 'etc', 'resolv.conf'));
    assert.equal(findMountPoint(view, rootfs, '/etc/hosts').target, join(rootfs, 'outside', 'hosts'));
    assert.equal(findMountPoint(view, rootfs, '/etc/resolv.conf').target, join(rootfs, 'escaped'));
    const point = findMountPoint(view, rootfs, '/etc/hosts');
    createMountPoint(point);
    assert.ok(lstatSync(join(rootfs, 'outside', 'hosts')).isFile());
    assert.ok(!existsSync('/outside'));
  });

  it('makes a missing file and its missing /etc, empty and 0644, and removes them again', () => {
    rmSync(join(rootfs, 'etc'), { recursive: true });
    const point = findMountPoint(view, rootfs, '/etc/hosts');
    assert.equal(point.exists, false);
    const undo = createMountPoint(point);
    const made = lstatSync(join(rootfs, 'etc', 'hosts'));
    assert.equal(made.mode & 0o7777, 0o644);
    assert.equal(made.size, 0);
    assert.equal(lstatSync(join(rootfs, 'etc')).mode & 0o7777, 0o755);
    undo();
    assert.ok(!existsSync(join(rootfs, 'etc')));
    assert.ok(existsSync(rootfs));
  });

  it('a file another container of the same rootfs made meanwhile is used, and its undo leaves it', () => {
    const point = findMountPoint(view, rootfs, '/etc/hosts');
    assert.equal(point.exists, false);
    writeFileSync(join(rootfs, 'etc', 'hosts'), ''); // the other container, between the look and the make
    const undo = createMountPoint(point);
    undo();
    assert.ok(lstatSync(join(rootfs, 'etc', 'hosts')).isFile());
  });

  it('refuses a directory where the file should be, naming the path', () => {
    mkdirSync(join(rootfs, 'etc', 'hosts'));
    assert.throws(() => findMountPoint(view, rootfs, '/etc/hosts'), (e: unknown) => e instanceof UserError && e.message.startsWith(`${join(rootfs, 'etc', 'hosts')}: not a regular file`));
  });

  it('names the host path, not the /proc view, when the way to the mount point is blocked', () => {
    writeFileSync(join(rootfs, 'notdir'), '');
    symlinkSync('/notdir/x', join(rootfs, 'etc', 'hosts'));
    assert.throws(
      () => findMountPoint(view, rootfs, '/etc/hosts'),
      (e: unknown) => e instanceof UserError && e.message === `the mount point for the container's /etc/hosts: lstat(${join(rootfs, 'notdir', 'x')}): ENOTDIR`,
    );
  });
});
