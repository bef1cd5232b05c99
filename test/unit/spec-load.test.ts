// loadConfig(): exact error messages for unreadable, unparsable and
// schema-invalid config.json, every semantic rule, resolveRootfs() and
// defaultSpec().

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../src/errors';
import { defaultSpec } from '../../src/spec/default-spec';
import { loadConfig, resolveRootfs } from '../../src/spec/load';
import type { Spec } from '../../src/spec/types';
import { isSchemaValid } from '../../src/spec/validate';
import { fullConfig } from '../helpers/full-config';

let bundle: string;

// Each test gets a fresh bundle with an empty rootfs directory. Registered
// inside each describe (not at the root) so they do not run for other files' tests.
function useTempBundle(): void {
  beforeEach(function () {
    bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-spec-'));
    fs.mkdirSync(path.join(bundle, 'rootfs'));
  });
  afterEach(function () {
    fs.rmSync(bundle, { recursive: true, force: true });
  });
}

/** Write config.json into the bundle; `undefined` writes nothing. */
function writeConfig(config: unknown): void {
  if (config === undefined) return;
  fs.writeFileSync(path.join(bundle, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
}

/** Write `config`, load it, and assert the exact ConfigError message. */
function assertLoadError(config: unknown, message: string): void {
  writeConfig(config);
  assert.throws(
    () => loadConfig(bundle),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
      assert.equal(err.message, message);
      assert.ok(!err.message.includes('\n'), 'message must be one line');
      return true;
    },
  );
}

/** fullConfig() with `edit` applied. */
function full(edit: (c: Spec) => void): Spec {
  const c = fullConfig();
  edit(c);
  return c;
}

describe('spec: loadConfig reading and parsing', function () {
  useTempBundle();

  it('loads the full config unchanged', function () {
    writeConfig(fullConfig());
    assert.deepEqual(loadConfig(bundle), fullConfig());
  });

  it('missing config.json', function () {
    assertLoadError(undefined, `config.json: /: cannot read ${path.join(bundle, 'config.json')}: no such file`);
  });

  it('config.json is a directory', function () {
    fs.mkdirSync(path.join(bundle, 'config.json'));
    assert.throws(() => loadConfig(bundle), {
      name: 'ConfigError',
      message: `config.json: /: cannot read ${path.join(bundle, 'config.json')}: is a directory`,
    });
  });

  it('invalid JSON names line and column', function () {
    assertLoadError('{\n  "ociVersion": "1.3.0",\n}\n', 'config.json: /: invalid JSON at line 3, column 1: unexpected "}"');
  });

  it('invalid JSON whose V8 message would quote the input stays one line', function () {
    assertLoadError('{\n "a": tru\n}', 'config.json: /: invalid JSON at line 2, column 10: unexpected "\\n"');
  });

  it('empty file', function () {
    assertLoadError('', 'config.json: /: invalid JSON at line 1, column 1: unexpected end of input');
  });

  it('top level is not an object', function () {
    assertLoadError('[]', 'config.json: /: must be object');
  });
});

describe('spec: loadConfig schema errors', function () {
  useTempBundle();

  it('bad type', function () {
    assertLoadError(
      full((c) => {
        c.linux!.uidMappings![0]!.size = 1.5;
      }),
      'config.json: /linux/uidMappings/0/size: must be integer',
    );
  });

  it('missing required property', function () {
    const c = fullConfig() as unknown as { process: Record<string, unknown> };
    delete c.process.cwd;
    assertLoadError(c, "config.json: /process: must have required property 'cwd'");
  });

  it('missing ociVersion at the top level', function () {
    assertLoadError({ root: { path: 'rootfs' } }, "config.json: /: must have required property 'ociVersion'");
  });

  it('bad enum value lists the allowed values', function () {
    assertLoadError(
      full((c) => {
        (c.linux!.namespaces![3] as { type: string }).type = 'net';
      }),
      'config.json: /linux/namespaces/3/type: must be equal to one of the allowed values: ' +
        '"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"',
    );
  });

  it('bad pattern', function () {
    assertLoadError(
      full((c) => {
        c.process!.rlimits![1]!.type = 'NOFILE';
      }),
      'config.json: /process/rlimits/1/type: must match pattern "^RLIMIT_[A-Z]+$"',
    );
  });

  it('out of range', function () {
    assertLoadError(
      full((c) => {
        c.process!.user.uid = -1;
      }),
      'config.json: /process/user/uid: must be >= 0',
    );
  });

  it('control characters in a map key are escaped in the pointer', function () {
    assertLoadError(
      full((c) => {
        (c.annotations as Record<string, unknown>)['a\nb'] = 1;
      }),
      'config.json: /annotations/a\\u000ab: must be string',
    );
  });
});

interface SemanticCase {
  name: string;
  edit: (c: Spec) => void;
  message: string;
}

// Each entry breaks one rule of the full config; the message is exact.
const semanticCases: SemanticCase[] = [
  {
    name: 'ociVersion is not SemVer',
    edit: (c) => (c.ociVersion = '1.3'),
    message: 'config.json: /ociVersion: must be a SemVer 2.0.0 version such as "1.3.0", got "1.3"',
  },
  {
    name: 'a vm section',
    edit: (c) => ((c as { vm?: unknown }).vm = { hypervisor: { path: '/usr/bin/qemu' } }),
    message: 'config.json: /vm: tsrun runs containers in namespaces, not in virtual machines: use a VM-based runtime',
  },
  { name: 'root missing', edit: (c) => delete c.root, message: "config.json: /: must have required property 'root'" },
  {
    name: 'duplicate namespace',
    edit: (c) => c.linux!.namespaces!.splice(3, 0, { type: 'pid' }),
    message: 'config.json: /linux/namespaces/3/type: duplicate namespace "pid"',
  },
  {
    name: 'relative namespace path',
    edit: (c) => (c.linux!.namespaces![1]!.path = 'netns/full'),
    message: 'config.json: /linux/namespaces/1/path: must be an absolute path',
  },
  {
    name: 'new user namespace without uidMappings',
    edit: (c) => delete c.linux!.uidMappings,
    message: 'config.json: /linux: a new user namespace needs uidMappings',
  },
  {
    name: 'new user namespace with empty gidMappings',
    edit: (c) => (c.linux!.gidMappings = []),
    message: 'config.json: /linux: a new user namespace needs gidMappings',
  },
  {
    name: 'mappings without a user namespace',
    edit: (c) => (c.linux!.namespaces = c.linux!.namespaces!.filter((ns) => ns.type !== 'user')),
    message: 'config.json: /linux/uidMappings: needs a "user" entry in /linux/namespaces',
  },
  {
    name: 'mapping of size 0',
    edit: (c) => (c.linux!.gidMappings![0]!.size = 0),
    message: 'config.json: /linux/gidMappings/0/size: must be greater than 0',
  },
  {
    name: 'relative mount destination',
    edit: (c) => (c.mounts![2]!.destination = 'data'),
    message: 'config.json: /mounts/2/destination: must be an absolute path',
  },
  {
    name: 'mount uidMappings without gidMappings',
    edit: (c) => delete c.mounts![2]!.gidMappings,
    message: "config.json: /mounts/2: must have required property 'gidMappings' (uidMappings needs it)",
  },
  {
    name: 'idmap mount option with nothing to map with',
    edit: (c) => {
      delete c.mounts![2]!.uidMappings;
      delete c.mounts![2]!.gidMappings;
      c.linux!.namespaces = c.linux!.namespaces!.filter((ns) => ns.type !== 'user');
      delete c.linux!.uidMappings;
      delete c.linux!.gidMappings;
    },
    message: 'config.json: /mounts/2/options/2: "idmap" needs uidMappings and gidMappings on the mount or a user namespace',
  },
  {
    name: 'idmap on a mount that is not a bind',
    edit: (c) => (c.mounts![2]!.options = ['rw', 'idmap']),
    message: 'config.json: /mounts/2/options/1: "idmap" is only supported on bind mounts (type "bind" or option "bind"/"rbind")',
  },
  {
    name: 'mount mappings on a mount that is not a bind',
    edit: (c) => (c.mounts![2]!.options = ['rw']),
    message: 'config.json: /mounts/2/uidMappings: an id mapping is only supported on bind mounts (type "bind" or option "bind"/"rbind")',
  },
  {
    name: 'a word a bind mount would pass to the kernel as ignored data',
    edit: (c) => (c.mounts![2]!.options = ['rbind', 'nosiud']),
    message: 'config.json: /mounts/2/options/1: "nosiud" is not a mount flag, and a bind mount takes no filesystem options (the kernel would ignore it)',
  },
  {
    name: 'an r-word with no recursive form',
    edit: (c) => c.mounts![1]!.options!.push('rdirsync'),
    message: 'config.json: /mounts/1/options/4: "rdirsync": "dirsync" has no recursive form (mount_setattr(2) cannot set it on a tree of mounts)',
  },
  {
    name: 'tmpcopyup on a bind mount',
    edit: (c) => (c.mounts![2]!.options = ['rbind', 'tmpcopyup']),
    message: 'config.json: /mounts/2/options/1: "tmpcopyup" applies to tmpfs mounts only, not to a bind mount',
  },
  {
    name: 'tmpcopyup on a proc mount',
    edit: (c) => (c.mounts![0]!.options = ['nosuid', 'tmpcopyup']),
    message: 'config.json: /mounts/0/options/1: "tmpcopyup" applies to tmpfs mounts only, not to type "proc"',
  },
  {
    name: 'copy-symlink on a tmpfs',
    edit: (c) => c.mounts![1]!.options!.unshift('copy-symlink'),
    message: 'config.json: /mounts/1/options/0: "copy-symlink" applies to bind mounts only',
  },
  {
    name: 'empty process.args',
    edit: (c) => (c.process!.args = []),
    message: 'config.json: /process/args: must contain at least one entry',
  },
  {
    name: 'process.args missing',
    edit: (c) => delete c.process!.args,
    message: "config.json: /process: must have required property 'args'",
  },
  {
    name: 'relative cwd',
    edit: (c) => (c.process!.cwd = 'root'),
    message: 'config.json: /process/cwd: must be an absolute path',
  },
  {
    name: 'process.user missing',
    edit: (c) => delete (c.process as Partial<Spec['process']> & object).user,
    message: "config.json: /process: must have required property 'user'",
  },
  {
    name: 'process.user.gid missing',
    edit: (c) => delete (c.process!.user as { gid?: number }).gid,
    message: "config.json: /process/user: must have required property 'gid'",
  },
  {
    name: 'duplicate rlimit',
    edit: (c) => c.process!.rlimits!.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }),
    message: 'config.json: /process/rlimits/2/type: duplicate rlimit "RLIMIT_NOFILE" (first at index 0)',
  },
  {
    name: 'rlimit the kernel does not have',
    edit: (c) => (c.process!.rlimits![1]!.type = 'RLIMIT_FOO'),
    message: 'config.json: /process/rlimits/1/type: unknown rlimit "RLIMIT_FOO"',
  },
  {
    name: 'rlimit soft above hard',
    edit: (c) => (c.process!.rlimits![0]!.soft = 5000),
    message: 'config.json: /process/rlimits/0/soft: must not be greater than hard (4096)',
  },
  {
    name: 'oomScoreAdj out of range',
    edit: (c) => (c.process!.oomScoreAdj = 1001),
    message: 'config.json: /process/oomScoreAdj: must be between -1000 and 1000',
  },
  {
    name: 'ioPriority without priority',
    edit: (c) => delete (c.process!.ioPriority as { priority?: number }).priority,
    message: "config.json: /process/ioPriority: must have required property 'priority'",
  },
  {
    name: 'ioPriority priority out of range',
    edit: (c) => (c.process!.ioPriority!.priority = 8),
    message: 'config.json: /process/ioPriority/priority: must be between 0 (highest) and 7 (lowest)',
  },
  {
    name: 'hostname without a uts namespace',
    edit: (c) => (c.linux!.namespaces = c.linux!.namespaces!.filter((ns) => ns.type !== 'uts')),
    message: 'config.json: /hostname: needs a "uts" entry in /linux/namespaces',
  },
  {
    name: 'relative hook path',
    edit: (c) => (c.hooks!.poststop![1]!.path = 'bin/true'),
    message: 'config.json: /hooks/poststop/1/path: must be an absolute path',
  },
  {
    name: 'empty annotation key',
    edit: (c) => (c.annotations![''] = 'x'),
    message: 'config.json: /annotations: must not have an empty key',
  },
  {
    name: 'timeOffsets without a time namespace',
    edit: (c) => (c.linux!.namespaces = c.linux!.namespaces!.filter((ns) => ns.type !== 'time')),
    message: 'config.json: /linux/timeOffsets: needs a new time namespace (a "time" entry without path in /linux/namespaces)',
  },
  {
    name: 'timeOffsets with a joined time namespace',
    edit: (c) => (c.linux!.namespaces![7]!.path = '/proc/1/ns/time'),
    message: 'config.json: /linux/timeOffsets: needs a new time namespace (a "time" entry without path in /linux/namespaces)',
  },
  {
    name: 'unknown clock in timeOffsets',
    edit: (c) => ((c.linux!.timeOffsets as Record<string, object>)['realtime'] = { secs: 1 }),
    message: 'config.json: /linux/timeOffsets/realtime: unknown clock (allowed: monotonic, boottime)',
  },
  {
    name: 'nanosecs of a second or more',
    edit: (c) => (c.linux!.timeOffsets!.boottime!.nanosecs = 1000000000),
    message: 'config.json: /linux/timeOffsets/boottime/nanosecs: must be less than 1000000000',
  },
  {
    name: 'char device without minor',
    edit: (c) => delete c.linux!.devices![1]!.minor,
    message: "config.json: /linux/devices/1: must have required property 'minor'",
  },
  {
    name: 'relative device path',
    edit: (c) => (c.linux!.devices![2]!.path = 'run/fifo'),
    message: 'config.json: /linux/devices/2/path: must be an absolute path',
  },
  {
    name: 'netDevices without a network namespace',
    edit: (c) => (c.linux!.namespaces = c.linux!.namespaces!.filter((ns) => ns.type !== 'network')),
    message: 'config.json: /linux/netDevices: needs a "network" entry in /linux/namespaces',
  },
  {
    name: 'netDevices with a joined network namespace',
    edit: (c) => (c.linux!.namespaces![1]!.path = '/var/run/netns/full'),
    message: 'config.json: /linux/netDevices: needs a new network namespace (the "network" entry of /linux/namespaces has a path)',
  },
  {
    name: 'netDevices moving the loopback interface',
    edit: (c) => (c.linux!.netDevices!['lo'] = {}),
    message: 'config.json: /linux/netDevices/lo: the loopback interface cannot be moved to another network namespace',
  },
  {
    name: 'netDevices renamed to lo',
    edit: (c) => (c.linux!.netDevices!['eth1']!.name = 'lo'),
    message: 'config.json: /linux/netDevices/eth1/name: "lo" would clash with the loopback interface in the container\'s network namespace',
  },
  {
    name: 'netDevices: two interfaces given one name',
    edit: (c) => (c.linux!.netDevices!['dummy0']!.name = 'ctr1'),
    message: 'config.json: /linux/netDevices/dummy0/name: "ctr1" would clash with the interface moved from "eth1" in the container\'s network namespace',
  },
  {
    name: 'netDevices: a host name is not a template',
    edit: (c) => (c.linux!.netDevices!['eth%d'] = {}),
    message: 'config.json: /linux/netDevices/eth%d: "eth%d" is not a valid network interface name',
  },
  {
    name: 'netDevices: a template with two numbers',
    edit: (c) => (c.linux!.netDevices!['eth1']!.name = 'c%d%d'),
    message: 'config.json: /linux/netDevices/eth1/name: "c%d%d" is not a valid network interface name',
  },
  {
    name: 'netDevices name too long for IFNAMSIZ',
    edit: (c) => (c.linux!.netDevices!['eth1']!.name = 'a-very-long-interface'),
    message: 'config.json: /linux/netDevices/eth1/name: "a-very-long-interface" is not a valid network interface name',
  },
  {
    name: 'device cgroup rule with unknown type',
    edit: (c) => ((c.linux!.resources!.devices![1] as { type: string }).type = 'u'),
    message: 'config.json: /linux/resources/devices/1/type: must be one of "a", "c", "b"',
  },
  {
    name: 'device cgroup rule with unknown access',
    edit: (c) => (c.linux!.resources!.devices![1]!.access = 'rwx'),
    message: 'config.json: /linux/resources/devices/1/access: must be a combination of "r", "w" and "m"',
  },
  {
    name: 'swappiness above 100',
    edit: (c) => (c.linux!.resources!.memory!.swappiness = 101),
    message: 'config.json: /linux/resources/memory/swappiness: must be between 0 and 100',
  },
  {
    name: 'cpu burst above quota',
    edit: (c) => (c.linux!.resources!.cpu!.burst = 100001),
    message: 'config.json: /linux/resources/cpu/burst: must not be larger than quota (100000)',
  },
  {
    name: 'weightDevice without any weight',
    edit: (c) => delete c.linux!.resources!.blockIO!.weightDevice![1]!.weight,
    message: 'config.json: /linux/resources/blockIO/weightDevice/1: must have weight or leafWeight',
  },
  {
    name: 'throttle device without rate',
    edit: (c) => delete (c.linux!.resources!.blockIO!.throttleWriteBpsDevice![0] as { rate?: number }).rate,
    message: "config.json: /linux/resources/blockIO/throttleWriteBpsDevice/0: must have required property 'rate'",
  },
  {
    name: 'rdma entry without limits',
    edit: (c) => (c.linux!.resources!.rdma!['rxe3'] = {}),
    message: 'config.json: /linux/resources/rdma/rxe3: must have hcaHandles or hcaObjects',
  },
  {
    name: 'empty unified key',
    edit: (c) => (c.linux!.resources!.unified![''] = '1'),
    message: 'config.json: /linux/resources/unified: must not have an empty key',
  },
  {
    name: 'seccomp listenerMetadata without listenerPath',
    edit: (c) => delete c.linux!.seccomp!.listenerPath,
    message: "config.json: /linux/seccomp: listenerMetadata needs property 'listenerPath'",
  },
  {
    name: 'seccomp defaultErrnoRet with an action that returns no errno',
    edit: (c) => (c.linux!.seccomp!.defaultAction = 'SCMP_ACT_KILL'),
    message: 'config.json: /linux/seccomp/defaultErrnoRet: is not allowed with defaultAction "SCMP_ACT_KILL"',
  },
  {
    name: 'syscall errnoRet with SCMP_ACT_ALLOW',
    edit: (c) => (c.linux!.seccomp!.syscalls![0]!.errnoRet = 1),
    message: 'config.json: /linux/seccomp/syscalls/0/errnoRet: is not allowed with action "SCMP_ACT_ALLOW"',
  },
  {
    name: 'syscall argument index 6',
    edit: (c) => (c.linux!.seccomp!.syscalls![1]!.args![1]!.index = 6),
    message: 'config.json: /linux/seccomp/syscalls/1/args/1/index: must be less than 6',
  },
  {
    name: 'relative masked path',
    edit: (c) => c.linux!.maskedPaths!.push('proc/keys'),
    message: 'config.json: /linux/maskedPaths/2: must be an absolute path',
  },
  {
    name: 'relative readonly path',
    edit: (c) => (c.linux!.readonlyPaths![0] = 'proc/sys'),
    message: 'config.json: /linux/readonlyPaths/0: must be an absolute path',
  },
  {
    name: 'empty sysctl key',
    edit: (c) => (c.linux!.sysctl![''] = '1'),
    message: 'config.json: /linux/sysctl: must not have an empty key',
  },
  {
    name: 'personality without domain',
    edit: (c) => (c.linux!.personality = {} as never),
    message: "config.json: /linux/personality: must have required property 'domain'",
  },
  {
    name: 'personality flag (none are defined)',
    edit: (c) => (c.linux!.personality!.flags = ['ADDR_NO_RANDOMIZE']),
    message: 'config.json: /linux/personality/flags/0: unsupported personality flag "ADDR_NO_RANDOMIZE"',
  },
  {
    name: 'intelRdt schemata line with a newline',
    edit: (c) => c.linux!.intelRdt!.schemata!.push('L3:0=f\nMB:0=1'),
    message: 'config.json: /linux/intelRdt/schemata/1: must not contain a newline',
  },
  {
    name: 'memoryPolicy without mode',
    edit: (c) => delete (c.linux!.memoryPolicy as { mode?: string }).mode,
    message: "config.json: /linux/memoryPolicy: must have required property 'mode'",
  },
  {
    name: 'MPOL_LOCAL with nodes',
    edit: (c) => (c.linux!.memoryPolicy!.mode = 'MPOL_LOCAL'),
    message: 'config.json: /linux/memoryPolicy/nodes: must be empty for mode "MPOL_LOCAL"',
  },
  {
    name: 'MPOL_BIND without nodes',
    edit: (c) => delete c.linux!.memoryPolicy!.nodes,
    message: `config.json: /linux/memoryPolicy: must have required property 'nodes' for mode "MPOL_BIND"`,
  },
];

describe('spec: semantic checks', function () {
  useTempBundle();

  for (const sc of semanticCases) {
    it(sc.name, function () {
      assertLoadError(full(sc.edit), sc.message);
    });
  }

  it('root.path must exist', function () {
    assertLoadError(
      full((c) => (c.root!.path = 'missing')),
      `config.json: /root/path: cannot use ${path.join(bundle, 'missing')}: no such directory`,
    );
  });

  it('root.path must be a directory', function () {
    fs.writeFileSync(path.join(bundle, 'file'), '');
    assertLoadError(
      full((c) => (c.root!.path = 'file')),
      `config.json: /root/path: ${path.join(bundle, 'file')} is not a directory`,
    );
  });

  it('accepts an absolute root.path and a symlink to a directory', function () {
    fs.symlinkSync('rootfs', path.join(bundle, 'link'));
    writeConfig(full((c) => (c.root!.path = path.join(bundle, 'link'))));
    assert.equal(loadConfig(bundle).root?.path, path.join(bundle, 'link'));
  });

  it('accepts SemVer pre-release and build metadata', function () {
    for (const v of ['1.0.2-dev', '1.3.0-rc.1+build.5', '0.0.0']) {
      writeConfig(full((c) => (c.ociVersion = v)));
      assert.equal(loadConfig(bundle).ociVersion, v);
    }
  });

  it('accepts a joined user namespace without mappings', function () {
    writeConfig(
      full((c) => {
        c.linux!.namespaces![5]!.path = '/proc/1/ns/user';
        delete c.linux!.uidMappings;
        delete c.linux!.gidMappings;
      }),
    );
    assert.doesNotThrow(() => loadConfig(bundle));
  });

  it('accepts a config without process (create-time only)', function () {
    writeConfig(full((c) => delete c.process));
    assert.doesNotThrow(() => loadConfig(bundle));
  });
});

describe('spec: resolveRootfs', function () {
  useTempBundle();

  it('joins a relative root.path to the bundle', function () {
    assert.equal(resolveRootfs(fullConfig(), '/b/bundle'), '/b/bundle/rootfs');
  });

  it('keeps an absolute root.path (normalised)', function () {
    assert.equal(resolveRootfs(full((c) => (c.root!.path = '/srv/root//fs/')), '/b'), '/srv/root/fs');
  });

  it('resolves a relative bundle against the working directory', function () {
    assert.equal(resolveRootfs(fullConfig(), 'bundle'), path.join(process.cwd(), 'bundle', 'rootfs'));
  });

  it('throws a ConfigError without root', function () {
    assert.throws(() => resolveRootfs({ ociVersion: '1.3.0' }, '/b'), {
      name: 'ConfigError',
      message: "config.json: /: must have required property 'root'",
    });
  });
});

describe('spec: defaultSpec', function () {
  useTempBundle();

  it('passes the schema and the semantic checks', function () {
    assert.equal(isSchemaValid(defaultSpec()), true);
    writeConfig(defaultSpec());
    assert.deepEqual(loadConfig(bundle), defaultSpec());
  });

  it('rootless variant passes the schema and the semantic checks', function () {
    const spec = defaultSpec({ rootless: true, uid: 1000, gid: 100 });
    assert.equal(isSchemaValid(spec), true);
    writeConfig(spec);
    assert.doesNotThrow(() => loadConfig(bundle));
  });

  it('matches runc spec defaults', function () {
    const s = defaultSpec();
    assert.equal(s.ociVersion, '1.3.0');
    assert.deepEqual(s.root, { path: 'rootfs', readonly: true });
    assert.deepEqual(s.process?.args, ['sh']);
    assert.equal(s.process?.terminal, true);
    assert.equal(s.process?.noNewPrivileges, true);
    assert.deepEqual(s.process?.user, { uid: 0, gid: 0 });
    assert.deepEqual(s.process?.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
    const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
    assert.deepEqual(s.process?.capabilities, { bounding: caps, effective: caps, permitted: caps });
    assert.equal(s.hostname, 'tsrun');
    assert.deepEqual(
      s.mounts?.map((m) => `${m.destination}:${m.type}`),
      ['/proc:proc', '/dev:tmpfs', '/dev/pts:devpts', '/dev/shm:tmpfs', '/dev/mqueue:mqueue', '/sys:sysfs', '/sys/fs/cgroup:cgroup'],
    );
    assert.deepEqual(s.linux?.namespaces?.map((n) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
    assert.deepEqual(s.linux?.resources, { devices: [{ allow: false, access: 'rwm' }] });
    assert.equal(s.linux?.maskedPaths?.length, 10);
    assert.equal(s.linux?.readonlyPaths?.length, 5);
  });

  it('rootless: user namespace with the given ids, no network, sysfs bind, the cgroup mount kept, no resources', function () {
    const s = defaultSpec({ rootless: true, uid: 1000, gid: 100 });
    const types = s.linux?.namespaces?.map((n) => n.type);
    assert.deepEqual(types, ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'user']);
    assert.deepEqual(s.linux?.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
    assert.deepEqual(s.linux?.gidMappings, [{ containerID: 0, hostID: 100, size: 1 }]);
    assert.equal(s.linux?.resources, undefined);
    assert.deepEqual(s.mounts?.find((m) => m.destination === '/sys/fs/cgroup')?.type, 'cgroup');
    const sys = s.mounts?.find((m) => m.destination === '/sys');
    assert.deepEqual(sys, { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
    const pts = s.mounts?.find((m) => m.destination === '/dev/pts');
    assert.equal(pts?.options?.includes('gid=5'), false);
  });

  it('returns a fresh object each call', function () {
    const a = defaultSpec();
    a.process!.args!.push('x');
    a.mounts!.pop();
    assert.deepEqual(defaultSpec().process?.args, ['sh']);
    assert.equal(defaultSpec().mounts?.length, 7);
  });

  it('rootless defaults to the caller ids', function () {
    const s = defaultSpec({ rootless: true });
    assert.equal(s.linux?.uidMappings?.[0]?.hostID, process.geteuid!());
    assert.equal(s.linux?.gidMappings?.[0]?.hostID, process.getegid!());
  });
});
