// Idmapped bind mounts (runtime-spec 1.3: "idmap", "ridmap", a mount's
// uidMappings/gidMappings), checked from inside real containers: the owners
// `stat` shows there, the owners on the host of files made there, ridmap
// against idmap over a submount, and the refusals (one line naming the
// field, non-zero exit, nothing left behind: the fixture's leftover checks
// cover state dirs, mounts under the test's directories and processes).
import assert from 'node:assert/strict';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { LinuxIDMapping, Mount, Spec } from '../../src/spec/types';
import { TSRUN, type Bundle } from '../helpers/harness';
import { addNamespace, isolated, lines, nsLink, removeNamespace, waitFor, type Fixture } from './isolation-common';

const CONTAINER_MAPS: LinuxIDMapping[] = [{ containerID: 0, hostID: 100000, size: 65536 }];
const OVERFLOW_ID = 65534;

function useUserNamespace(spec: Spec): void {
  addNamespace(spec, 'user');
  spec.linux!.uidMappings = CONTAINER_MAPS;
  spec.linux!.gidMappings = CONTAINER_MAPS;
}

/**
 * A host directory (on /tmp's filesystem, ext4 here, which supports idmapped
 * mounts) holding f0 owned by 0:0 and f1000 owned by 1000:1000; searchable
 * by anyone, so that a mapping that leaves its owner unmapped can still list it.
 */
function volume(fx: Fixture): string {
  const dir = fx.dir('tsrun-idmap-vol-');
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'f0'), '');
  writeFileSync(join(dir, 'f1000'), '');
  chownSync(join(dir, 'f1000'), 1000, 1000);
  return dir;
}

/**
 * A bundle whose container runs `script`; the mount points exist already
 * (root of a user namespace may not create them in a rootfs owned by the
 * host's root), and the bundle directory is searchable by the mapped root.
 */
function bundleWith(fx: Fixture, script: string, mounts: Mount[], edit: (spec: Spec) => void = useUserNamespace): Bundle {
  const bundle = fx.bundle(['sh', '-c', script], (spec) => {
    edit(spec);
    spec.mounts = [...(spec.mounts ?? []), ...mounts];
  });
  chmodSync(bundle.dir, 0o711);
  for (const m of mounts) mkdirSync(join(bundle.rootfs, m.destination), { recursive: true });
  return bundle;
}

const STAT = (paths: string[]): string => `stat -c '%n %u %g' ${paths.join(' ')}`;

/** The `stat -c '%n %u %g'` lines of the output, by path. */
function owners(stdout: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const line of lines(stdout)) {
    const [path, uid, gid] = line.split(' ');
    if (path.startsWith('/') && uid !== undefined) found[path] = `${uid}:${gid}`;
  }
  return found;
}

function hostOwner(path: string): string {
  const st = statSync(path);
  return `${st.uid}:${st.gid}`;
}

/** A create that must fail: one line naming `pointer`, a non-zero exit. */
function assertRefused(fx: Fixture, bundle: Bundle, pointer: string, detail: string): void {
  const r = fx.run(bundle);
  assert.notEqual(r.status, 0, r.stdout);
  const said = r.stderr.trim().split('\n');
  assert.equal(said.length, 1, r.stderr);
  assert.ok(said[0].includes(`config.json: ${pointer}: `) && said[0].includes(detail), r.stderr);
  assert.equal(r.pid, 0, 'no init may have been left');
}

describe('idmapped mounts', function () {
  this.timeout(60000);

  it('with the mount\'s mappings: on-disk owners show inside, files made inside get on-disk owners', isolated((fx) => {
    const vol = volume(fx);
    const script = `${STAT(['/data/f0', '/data/f1000'])}; touch /data/made; mkdir /data/dir; chown 1000:1000 /data/dir; grep ' /data ' /proc/self/mountinfo`;
    const mount: Mount = { destination: '/data', type: 'bind', source: vol, options: ['bind', 'idmap'], uidMappings: CONTAINER_MAPS, gidMappings: CONTAINER_MAPS };
    const withChown = (spec: Spec): void => {
      useUserNamespace(spec);
      const caps = spec.process!.capabilities!;
      for (const set of [caps.bounding, caps.effective, caps.permitted]) set?.push('CAP_CHOWN');
    };
    const r = fx.runOk(bundleWith(fx, script, [mount], withChown));
    assert.deepEqual(owners(r.stdout), { '/data/f0': '0:0', '/data/f1000': '1000:1000' }, r.stdout);
    assert.match(r.stdout, /[ ,]idmapped[ ,]/);
    // Container root is host uid 100000; through the mount it writes on-disk 0.
    assert.equal(hostOwner(join(vol, 'made')), '0:0');
    assert.equal(hostOwner(join(vol, 'dir')), '1000:1000');
  }));

  it('maps containerID (on disk) to hostID: a mapping unlike the container\'s, given without "idmap"', isolated((fx) => {
    const vol = volume(fx);
    // On-disk 1000 -> host 100005 -> container 5; on-disk 0 is unmapped.
    // Mappings alone make an idmapped mount (as in runc), never ignored.
    const maps = [{ containerID: 1000, hostID: 100005, size: 1 }];
    const mount: Mount = { destination: '/data', type: 'bind', source: vol, options: ['bind'], uidMappings: maps, gidMappings: maps };
    const r = fx.runOk(bundleWith(fx, STAT(['/data/f0', '/data/f1000']), [mount]));
    assert.deepEqual(owners(r.stdout), { '/data/f0': `${OVERFLOW_ID}:${OVERFLOW_ID}`, '/data/f1000': '5:5' }, r.stdout);
  }));

  it('without mappings on the mount, takes the container\'s user namespace mappings', isolated((fx) => {
    const vol = volume(fx);
    const mount: Mount = { destination: '/data', type: 'bind', source: vol, options: ['bind', 'idmap'] };
    const plain: Mount = { destination: '/plain', type: 'bind', source: vol, options: ['bind'] };
    const r = fx.runOk(bundleWith(fx, STAT(['/data/f0', '/data/f1000', '/plain/f1000']), [mount, plain]));
    // The plain bind shows what idmapping changes: host 1000 is not mapped in the container.
    assert.deepEqual(owners(r.stdout), { '/data/f0': '0:0', '/data/f1000': '1000:1000', '/plain/f1000': `${OVERFLOW_ID}:${OVERFLOW_ID}` }, r.stdout);
  }));

  it('in a joined user namespace and without mappings on the mount, takes that namespace itself', isolated(async (fx) => {
    const vol = volume(fx);
    const holder = fx.helper('unshare', ['--user', 'sleep', '1000']);
    const pid = holder.pid!;
    await waitFor('the helper\'s user namespace', () => nsLink(pid, 'user') !== nsLink('self', 'user'));
    writeFileSync(`/proc/${pid}/uid_map`, '0 100000 65536\n');
    writeFileSync(`/proc/${pid}/gid_map`, '0 100000 65536\n');
    const joinUserNs = (spec: Spec): void => addNamespace(spec, 'user', `/proc/${pid}/ns/user`);
    const mount: Mount = { destination: '/data', type: 'bind', source: vol, options: ['bind', 'idmap'] };
    const r = fx.runOk(bundleWith(fx, `${STAT(['/data/f0', '/data/f1000'])}; cat /proc/self/uid_map`, [mount], joinUserNs));
    assert.deepEqual(owners(r.stdout), { '/data/f0': '0:0', '/data/f1000': '1000:1000' }, r.stdout);
    assert.match(r.stdout, /^\s*0\s+100000\s+65536$/m);
  }));

  it('in a container without a user namespace, shows on-disk ids as the mapping\'s host ids', isolated((fx) => {
    const vol = volume(fx);
    const maps = [{ containerID: 0, hostID: 5000, size: 2000 }];
    const mount: Mount = { destination: '/data', type: 'bind', source: vol, options: ['bind', 'idmap'], uidMappings: maps, gidMappings: maps };
    const noUserNs = (spec: Spec): void => removeNamespace(spec, 'user');
    const r = fx.runOk(bundleWith(fx, `${STAT(['/data/f0', '/data/f1000'])}; touch /data/made 2>/dev/null || echo not-made`, [mount], noUserNs));
    assert.deepEqual(owners(r.stdout), { '/data/f0': '5000:5000', '/data/f1000': '6000:6000' }, r.stdout);
    // Host root (0) has no on-disk id through this mapping: the kernel refuses it a new file (EOVERFLOW).
    assert.ok(lines(r.stdout).includes('not-made'), r.stdout);
  }));

  it('ridmap maps the submounts of an rbind too, idmap only its top', isolated((fx) => {
    const vol = volume(fx);
    const sub = join(vol, 'sub');
    mkdirSync(sub);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=755,size=1m', 'tsrun-idmap-test', sub], { encoding: 'utf8' });
    assert.equal(mounted.status, 0, mounted.stderr);
    try {
      writeFileSync(join(sub, 's1000'), '');
      chownSync(join(sub, 's1000'), 1000, 1000);
      const mounts: Mount[] = [
        { destination: '/r', type: 'bind', source: vol, options: ['rbind', 'ridmap'] },
        { destination: '/i', type: 'bind', source: vol, options: ['rbind', 'idmap'] },
      ];
      const r = fx.runOk(bundleWith(fx, STAT(['/r/f1000', '/r/sub/s1000', '/i/f1000', '/i/sub/s1000']), mounts));
      assert.deepEqual(owners(r.stdout), {
        '/r/f1000': '1000:1000',
        '/r/sub/s1000': '1000:1000',
        '/i/f1000': '1000:1000',
        '/i/sub/s1000': `${OVERFLOW_ID}:${OVERFLOW_ID}`,
      }, r.stdout);
    } finally {
      spawnSync('umount', [sub]);
    }
  }));

  it('leaves the waiting init no descriptor of the idmapped copy, the runtime no helper', isolated((fx) => {
    const vol = volume(fx);
    const bundle = bundleWith(fx, 'true', [{ destination: '/data', type: 'bind', source: vol, options: ['bind', 'idmap'] }]);
    const id = fx.id();
    // The init keeps create's stdio: a file, not a pipe a synchronous spawn would wait on.
    const errPath = join(fx.dir(), 'stderr');
    const err = openSync(errPath, 'w');
    let created;
    try {
      created = spawnSync(TSRUN, ['--root', fx.runtime.root, 'create', '--bundle', bundle.dir, id], { stdio: ['ignore', err, err], timeout: 30000 });
    } finally {
      closeSync(err);
    }
    assert.equal(created.status, 0, readFileSync(errPath, 'utf8'));
    const pid = fx.trackContainerPid(fx.runtime.state(id).pid);
    const held = readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
    // A leaked tree fd reads as the mount's path (/data after the root switch); a namespace fd as user:[N].
    const leaked = held.filter((target) => target === '/data' || target.includes(vol) || /^(user|mnt):\[/.test(target));
    assert.deepEqual(leaked, [], held.join(', '));
    assert.match(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'), / \/data rw,[^ ]*idmapped/);
  }));

  it('refuses a filesystem that cannot be idmapped, naming the mount; nothing left', isolated((fx) => {
    const mount: Mount = { destination: '/data', type: 'bind', source: '/sys/fs', options: ['rbind', 'ridmap'] };
    const bundle = bundleWith(fx, 'true', [mount]);
    const index = bundleSpecMounts(bundle) - 1;
    assertRefused(fx, bundle, `/mounts/${index}/options/1`, 'the filesystem of /sys/fs does not support idmapped mounts');
  }));

  it('refuses a missing source, mappings the kernel refuses, idmap on a tmpfs, idmap with nothing to map with', isolated((fx) => {
    const missing = join(fx.dir(), 'missing');
    let bundle = bundleWith(fx, 'true', [{ destination: '/data', type: 'bind', source: missing, options: ['bind', 'idmap'] }]);
    assertRefused(fx, bundle, `/mounts/${bundleSpecMounts(bundle) - 1}/options/1`, `open_tree(${missing}): ENOENT`);

    bundle = bundleWith(fx, 'true', [{ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }]);
    assertRefused(fx, bundle, `/mounts/${bundleSpecMounts(bundle) - 1}/options/0`, '"idmap" is only supported on bind mounts');

    const vol = volume(fx);
    // Overlapping ranges: the kernel refuses the helper's uid_map.
    const overlapping = [{ containerID: 0, hostID: 2000, size: 10 }, { containerID: 5, hostID: 3000, size: 10 }];
    bundle = bundleWith(fx, 'true', [{ destination: '/data', type: 'bind', source: vol, options: ['bind', 'idmap'], uidMappings: overlapping, gidMappings: overlapping }]);
    assertRefused(fx, bundle, `/mounts/${bundleSpecMounts(bundle) - 1}/options/1`, 'uid_map: EINVAL');

    bundle = bundleWith(fx, 'true', [{ destination: '/data', type: 'bind', source: vol, options: ['bind', 'idmap'] }], (spec) => removeNamespace(spec, 'user'));
    assertRefused(fx, bundle, `/mounts/${bundleSpecMounts(bundle) - 1}/options/1`, '"idmap" needs uidMappings and gidMappings on the mount or a user namespace');
  }));
});

/** How many mounts the bundle's config.json has (the test's own come last). */
function bundleSpecMounts(bundle: Bundle): number {
  const spec = JSON.parse(readFileSync(bundle.configPath, 'utf8')) as Spec;
  return spec.mounts?.length ?? 0;
}
