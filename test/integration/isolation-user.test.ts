// User namespaces and process.user, checked from inside real containers and
// from the host: the id maps are the configured ones, the container's root is
// the mapped host id, process.user's ids, groups and umask apply, devices in a
// user namespace are working bind mounts of the host's nodes.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { LinuxIDMapping, Spec } from '../../src/spec/types';
import type { Bundle } from '../helpers/harness';
import { addNamespace, isolated, lines, mountinfoEntry, nsLink, waitFor } from './isolation-common';

const HOST_BASE = 100000;
const RANGE = 65536;

function useUserNamespace(spec: Spec, uidMappings: LinuxIDMapping[], gidMappings: LinuxIDMapping[]): void {
  addNamespace(spec, 'user');
  spec.linux!.uidMappings = uidMappings;
  spec.linux!.gidMappings = gidMappings;
}

/**
 * The rootfs owned by the host ids the container's root maps to, so that root
 * can use it, and the bundle directory (0700 from mkdtemp) searchable by it:
 * runc too fails to bind the rootfs of a bundle its mapped root cannot reach.
 */
function chownRootfs(bundle: Bundle, id: number): void {
  const r = spawnSync('chown', ['-R', `${id}:${id}`, bundle.rootfs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`chown -R ${bundle.rootfs}: ${r.stderr}`);
  chmodSync(bundle.dir, 0o711);
}

/** uid_map / gid_map text as [containerID, hostID, size] triples. */
function parseIdMap(text: string): number[][] {
  return lines(text).map((l) => l.split(/\s+/).map(Number));
}

function statusIds(pid: number, field: 'Uid' | 'Gid'): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return (line ?? '').split(/\s+/).slice(1).map(Number);
}

describe('isolation: users', function () {
  this.timeout(60000);

  it('writes the configured uid and gid maps; container root is the mapped host id', isolated(async (fx) => {
    const uidMappings = [
      { containerID: 0, hostID: HOST_BASE, size: 1000 },
      { containerID: 1000, hostID: HOST_BASE + 1000, size: RANGE - 1000 },
    ];
    const gidMappings = [{ containerID: 0, hostID: HOST_BASE, size: RANGE }];
    const script = 'cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo "ids $(id -u) $(id -g)"; touch /root/written && echo wrote; echo ready; exec sleep 1000';
    const bundle = fx.bundle(['sh', '-c', script], (spec) => {
      useUserNamespace(spec, uidMappings, gidMappings);
      spec.root!.readonly = false;
    });
    chownRootfs(bundle, HOST_BASE);
    const c = fx.detach(bundle);
    await waitFor('the container to start', () => c.stdout().includes('ready'));
    const [uidText, gidText] = c.stdout().split('--\n');
    assert.deepEqual(parseIdMap(uidText), uidMappings.map((m) => [m.containerID, m.hostID, m.size]));
    assert.deepEqual(parseIdMap(gidText.split('ids')[0]), gidMappings.map((m) => [m.containerID, m.hostID, m.size]));
    assert.ok(lines(c.stdout()).includes('ids 0 0'), c.stdout());
    assert.ok(lines(c.stdout()).includes('wrote'), `root in the container could not write its rootfs: ${c.stderr()}`);

    // From the host: the process runs as host uid/gid 100000, in its own user namespace.
    assert.deepEqual(statusIds(c.pid, 'Uid'), [HOST_BASE, HOST_BASE, HOST_BASE, HOST_BASE]);
    assert.deepEqual(statusIds(c.pid, 'Gid'), [HOST_BASE, HOST_BASE, HOST_BASE, HOST_BASE]);
    assert.notEqual(nsLink(c.pid, 'user'), nsLink('self', 'user'));
    const written = statSync(join(bundle.rootfs, 'root', 'written'));
    assert.equal(written.uid, HOST_BASE);
    assert.equal(written.gid, HOST_BASE);
  }));

  it('applies process.user: uid, gid, additionalGids and umask', isolated((fx) => {
    const script = [
      'echo "uid $(id -u)"',
      'echo "gid $(id -g)"',
      'echo "groups $(id -G)"',
      'echo "umask $(umask)"',
      'grep -E "^(Uid|Gid|Groups):" /proc/self/status',
      'touch /dev/shm/f && echo "mode $(stat -c %a /dev/shm/f)"',
      'echo "home $HOME"',
    ].join('; ');
    const bundle = fx.bundle(['sh', '-c', script], (spec) => {
      spec.process!.user = { uid: 1000, gid: 1001, additionalGids: [10, 20], umask: 0o027 };
    });
    const r = fx.runOk(bundle);
    const out = lines(r.stdout);
    assert.ok(out.includes('uid 1000'), r.stdout);
    assert.ok(out.includes('gid 1001'), r.stdout);
    const groups = out.find((l) => l.startsWith('groups '))!.split(' ').slice(1).map(Number).sort((a, b) => a - b);
    assert.deepEqual([...new Set(groups)], [10, 20, 1001]);
    assert.ok(out.includes('umask 0027'), r.stdout);
    assert.match(r.stdout, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    assert.match(r.stdout, /^Gid:\s+1001\s+1001\s+1001\s+1001$/m);
    assert.match(r.stdout, /^Groups:\s+10 20\s*$/m);
    assert.ok(out.includes('mode 640'), `a new file did not get mode 0666 & ~umask: ${r.stdout}`);
    // uid 1000 has no /etc/passwd entry: HOME falls back to /.
    assert.ok(out.includes('home /'), r.stdout);
  }));

  it('runs process.user inside a user namespace as the mapped host ids', isolated((fx) => {
    const shared = fx.dir('tsrun-iso-shared-');
    chmodSync(shared, 0o777);
    const bundle = fx.bundle(['sh', '-c', 'echo "ids $(id -u) $(id -g) $(id -G)"; touch /shared/by-user'], (spec) => {
      useUserNamespace(spec, [{ containerID: 0, hostID: HOST_BASE, size: RANGE }], [{ containerID: 0, hostID: HOST_BASE, size: RANGE }]);
      spec.process!.user = { uid: 1000, gid: 1000, additionalGids: [5] };
      spec.mounts!.push({ destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rw'] });
    });
    chownRootfs(bundle, HOST_BASE);
    const r = fx.runOk(bundle);
    assert.ok(lines(r.stdout).includes('ids 1000 1000 1000 5'), r.stdout);
    const st = statSync(join(shared, 'by-user'));
    assert.equal(st.uid, HOST_BASE + 1000);
    assert.equal(st.gid, HOST_BASE + 1000);
  }));

  it('in a user namespace, gives working default devices bound from the host', isolated((fx) => {
    const devices = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
    const script = [
      `for d in ${devices.join(' ')}; do echo "dev $d $(stat -c '%F %t %T' /dev/$d)"; done`,
      'echo x > /dev/null && echo null-ok',
      'echo "zero $(head -c 5 /dev/zero | wc -c)"',
      'echo "urandom $(head -c 7 /dev/urandom | wc -c)"',
      'echo x 2>&1 > /dev/full | grep -q "No space left" && echo full-ok',
      'echo ==; cat /proc/self/mountinfo',
    ].join('; ');
    const bundle = fx.bundle(['sh', '-c', script], (spec) => {
      useUserNamespace(spec, [{ containerID: 0, hostID: HOST_BASE, size: RANGE }], [{ containerID: 0, hostID: HOST_BASE, size: RANGE }]);
    });
    chownRootfs(bundle, HOST_BASE);
    const r = fx.runOk(bundle);
    const [head, mountinfo] = r.stdout.split('==\n');
    const out = lines(head);
    const expected: Record<string, [number, number]> = { null: [1, 3], zero: [1, 5], full: [1, 7], random: [1, 8], urandom: [1, 9], tty: [5, 0] };
    for (const d of devices) {
      const [maj, min] = expected[d];
      assert.ok(out.includes(`dev ${d} character special file ${maj.toString(16)} ${min.toString(16)}`), `/dev/${d}: ${r.stdout}`);
      const entry = mountinfoEntry(mountinfo, `/dev/${d}`);
      assert.ok(entry, `/dev/${d} is not a bind mount of the host node`);
      assert.equal(entry.root, `/${d}`);
    }
    for (const word of ['null-ok', 'zero 5', 'urandom 7', 'full-ok']) assert.ok(out.includes(word), `${word} missing: ${r.stdout}`);
  }));

  it('applies time namespace offsets inside a user namespace too', isolated(function (this: Mocha.Context, fx) {
    if (!existsSync('/proc/self/ns/time')) this.skip();
    const offset = 86400 * 10;
    const bundle = fx.bundle(['sh', '-c', 'cut -d" " -f1 /proc/uptime; cat /proc/self/timens_offsets'], (spec) => {
      useUserNamespace(spec, [{ containerID: 0, hostID: HOST_BASE, size: RANGE }], [{ containerID: 0, hostID: HOST_BASE, size: RANGE }]);
      addNamespace(spec, 'time');
      spec.linux!.timeOffsets = { monotonic: { secs: offset }, boottime: { secs: offset } };
    });
    chownRootfs(bundle, HOST_BASE);
    const r = fx.runOk(bundle);
    const [uptime, ...offsets] = lines(r.stdout);
    assert.ok(Number(uptime) >= offset, `uptime inside: ${r.stdout}`);
    assert.deepEqual(
      offsets.map((l) => l.split(/\s+/)),
      [
        ['monotonic', String(offset), '0'],
        ['boottime', String(offset), '0'],
      ],
    );
  }));
});
