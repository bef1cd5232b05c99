// runtimeConfigFromImage(): the image config's command, env, cwd, user and
// annotations in config.json (image-spec conversion.md), users resolved in
// the rootfs only, rootless mappings, and a result that tsrun itself loads
// (schema and semantic checks) and the published schema accepts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors';
import { runtimeConfigFromImage, type RuntimeConfigOptions } from '../../src/image/runtime-config';
import type { ImageConfig } from '../../src/image/types';
import { defaultSpec } from '../../src/spec/default-spec';
import { loadConfig } from '../../src/spec/load';
import type { Spec } from '../../src/spec/types';
import { loadPublished } from '../helpers/published-schema';

const PASSWD = ['root:x:0:0:root:/root:/bin/sh', '# a comment', 'daemon:x:1:1::/:/bin/false', 'app:x:1000:1001:App:/home/app:/bin/sh', ''].join('\n');
const GROUP = ['root:x:0:', 'daemon:x:1:', 'wheel:x:10:root,app', 'appgrp:x:1001:', 'audio:x:29:app', 'video:x:44:other'].join('\n');

describe('runtimeConfigFromImage', () => {
  let bundle: string;
  let rootfs: string;
  const rootful: RuntimeConfigOptions = { rootless: false };
  let published: ReturnType<typeof loadPublished>;

  before(() => (published = loadPublished('config-schema.json')));
  beforeEach(() => {
    bundle = mkdtempSync(join(tmpdir(), 'tsrun-imgcfg-'));
    rootfs = join(bundle, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc/passwd'), PASSWD);
    writeFileSync(join(rootfs, 'etc/group'), GROUP);
  });
  afterEach(() => rmSync(bundle, { recursive: true, force: true }));

  /** Writes the spec as the bundle's config.json and loads it back through tsrun's own validation. */
  function assertValid(spec: Spec): void {
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
    assert.deepEqual(loadConfig(bundle), JSON.parse(JSON.stringify(spec)));
    assert.ok(published(spec), JSON.stringify(published.errors));
  }

  function withUser(User: string): Spec {
    return runtimeConfigFromImage({ config: { User } }, rootfs, rootful);
  }

  it("gives a plain rootfs tarball exactly `tsrun spec`'s config", () => {
    const spec = runtimeConfigFromImage(null, rootfs, rootful);
    assert.deepEqual(spec, defaultSpec());
    assertValid(spec);
    assert.deepEqual(runtimeConfigFromImage(null, rootfs, { rootless: true }), defaultSpec({ rootless: true }));
  });

  it('runs Entrypoint followed by Cmd, without a terminal, in WorkingDir, on a writable rootfs', () => {
    const image: ImageConfig = { config: { Entrypoint: ['/bin/app', '--serve'], Cmd: ['--port', '80'], WorkingDir: '/srv' } };
    const spec = runtimeConfigFromImage(image, rootfs, rootful);
    assert.deepEqual(spec.process?.args, ['/bin/app', '--serve', '--port', '80']);
    assert.equal(spec.process?.terminal, false);
    assert.equal(spec.process?.cwd, '/srv');
    assert.deepEqual(spec.root, { path: 'rootfs', readonly: false });
    assert.deepEqual(spec.process?.user, { uid: 0, gid: 0 });
    assertValid(spec);
    assert.deepEqual(runtimeConfigFromImage({ config: { Cmd: ['echo', 'hi'], Entrypoint: null } }, rootfs, rootful).process?.args, ['echo', 'hi']);
    assert.deepEqual(runtimeConfigFromImage({ config: { Entrypoint: ['/init'], Cmd: null } }, rootfs, rootful).process?.args, ['/init']);
    const none = runtimeConfigFromImage({ config: {} }, rootfs, rootful);
    assert.deepEqual(none.process?.args, ['sh']);
    assert.equal(none.process?.cwd, '/');
    assert.equal(runtimeConfigFromImage({ config: { WorkingDir: 'rel/dir' } }, rootfs, rootful).process?.cwd, '/rel/dir');
  });

  it("keeps the image's Env, adding the default PATH first only when it has none", () => {
    const own = runtimeConfigFromImage({ config: { Env: ['FOO=1', 'PATH=/opt/bin'] } }, rootfs, rootful);
    assert.deepEqual(own.process?.env, ['FOO=1', 'PATH=/opt/bin']);
    const added = runtimeConfigFromImage({ config: { Env: ['FOO=1'] } }, rootfs, rootful);
    assert.deepEqual(added.process?.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'FOO=1']);
    assert.deepEqual(runtimeConfigFromImage({}, rootfs, rootful).process?.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    assertValid(added);
  });

  describe('User', () => {
    it('resolves a name through /etc/passwd, with its groups from /etc/group', () => {
      assert.deepEqual(withUser('app').process?.user, { uid: 1000, gid: 1001, additionalGids: [10, 29] });
      assert.deepEqual(withUser('daemon').process?.user, { uid: 1, gid: 1 });
      assertValid(withUser('app'));
    });

    it('copies a numeric uid, its gid from passwd or 0, and no additional groups', () => {
      assert.deepEqual(withUser('1000').process?.user, { uid: 1000, gid: 1001 });
      assert.deepEqual(withUser('4242').process?.user, { uid: 4242, gid: 0 });
    });

    it('takes the group given, by number or by name, and then no additional groups', () => {
      assert.deepEqual(withUser('app:44').process?.user, { uid: 1000, gid: 44 });
      assert.deepEqual(withUser('app:wheel').process?.user, { uid: 1000, gid: 10 });
      assert.deepEqual(withUser('77:88').process?.user, { uid: 77, gid: 88 });
      assert.deepEqual(withUser('77:audio').process?.user, { uid: 77, gid: 29 });
      assertValid(withUser('77:audio'));
    });

    it('fails on a name the image does not have, naming the value and the file', () => {
      assert.throws(() => withUser('nobody'), (err: Error) => {
        assert.ok(err instanceof UserError);
        assert.equal(err.message, 'image config User "nobody": no user "nobody" in the image\'s /etc/passwd');
        return true;
      });
      assert.throws(() => withUser('app:staff'), /^UserError: image config User "app:staff": no group "staff" in the image's \/etc\/group$/);
      assert.throws(() => withUser('99999999999'), /is not a valid id/);
      rmSync(join(rootfs, 'etc/passwd'));
      assert.throws(() => withUser('app'), /no user "app" in the image's \/etc\/passwd/);
      assert.deepEqual(withUser('5').process?.user, { uid: 5, gid: 0 });
    });

    it("does not read the host's files through a hostile /etc/passwd or /etc/group symlink", () => {
      // A file outside the rootfs naming a user the rootfs does not have.
      const outside = join(bundle, 'host-passwd');
      writeFileSync(outside, 'intruder:x:4321:4321::/:/bin/sh\n');
      writeFileSync(join(bundle, 'host-group'), 'hostgrp:x:999:app\n');
      rmSync(join(rootfs, 'etc/passwd'));
      rmSync(join(rootfs, 'etc/group'));
      symlinkSync(outside, join(rootfs, 'etc/passwd'));
      symlinkSync('../../host-group', join(rootfs, 'etc/group'));
      assert.throws(() => withUser('intruder'), /no user "intruder" in the image's \/etc\/passwd/);
      assert.throws(() => withUser('1:hostgrp'), /no group "hostgrp"/);
      // The same names read from inside the rootfs, where the links lead when contained.
      mkdirSync(join(rootfs, bundle), { recursive: true });
      writeFileSync(join(rootfs, outside), 'intruder:x:55:66::/:/bin/sh\n');
      assert.deepEqual(withUser('intruder').process?.user, { uid: 55, gid: 66 });
    });

    it('does not read an /etc/passwd that is not a regular file', () => {
      rmSync(join(rootfs, 'etc/passwd'));
      mkdirSync(join(rootfs, 'etc/passwd'));
      assert.throws(() => withUser('app'), /no user "app"/);
    });
  });

  it('puts Labels, StopSignal, ExposedPorts and the platform into annotations, Labels winning', () => {
    const image: ImageConfig = {
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
      'os.version': '10.0',
      'os.features': ['a', 'b'],
      author: 'someone',
      created: '2024-01-02T03:04:05Z',
      config: {
        StopSignal: 'SIGQUIT',
        ExposedPorts: { '80/tcp': {}, '53/udp': {} },
        Labels: { 'com.example.role': 'web', 'org.opencontainers.image.author': 'label author', '': 'dropped' },
      },
    };
    const spec = runtimeConfigFromImage(image, rootfs, rootful);
    assert.deepEqual(spec.annotations, {
      'org.opencontainers.image.os': 'linux',
      'org.opencontainers.image.architecture': 'arm',
      'org.opencontainers.image.variant': 'v7',
      'org.opencontainers.image.os.version': '10.0',
      'org.opencontainers.image.os.features': 'a,b',
      'org.opencontainers.image.author': 'label author',
      'org.opencontainers.image.created': '2024-01-02T03:04:05Z',
      'org.opencontainers.image.stopSignal': 'SIGQUIT',
      'org.opencontainers.image.exposedPorts': '80/tcp,53/udp',
      'com.example.role': 'web',
    });
    assertValid(spec);
    assert.equal(runtimeConfigFromImage({ config: {} }, rootfs, rootful).annotations, undefined);
  });

  it("takes rootless mappings from the options, in place of the caller's single id", () => {
    const uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    const spec = runtimeConfigFromImage({ config: { User: 'app', Cmd: ['id'] } }, rootfs, { rootless: true, uidMappings, gidMappings });
    assert.deepEqual(spec.linux?.uidMappings, uidMappings);
    assert.deepEqual(spec.linux?.gidMappings, gidMappings);
    assert.equal(spec.linux?.namespaces?.filter((ns) => ns.type === 'user').length, 1);
    assert.equal(spec.linux?.namespaces?.some((ns) => ns.type === 'network'), false);
    assert.equal(spec.linux?.resources, undefined);
    assertValid(spec);
    const plain = runtimeConfigFromImage(null, rootfs, { rootless: true, uidMappings });
    assert.deepEqual(plain.linux?.uidMappings, uidMappings);
    assert.deepEqual(plain.linux?.gidMappings, defaultSpec({ rootless: true }).linux?.gidMappings);
    // Mappings for a rootful bundle bring the user namespace they need.
    const rootfulMapped = runtimeConfigFromImage(null, rootfs, { rootless: false, uidMappings, gidMappings });
    assert.equal(rootfulMapped.linux?.namespaces?.filter((ns) => ns.type === 'user').length, 1);
    assertValid(rootfulMapped);
  });
});
