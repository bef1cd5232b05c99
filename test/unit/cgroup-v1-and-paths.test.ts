import assert from 'node:assert/strict';
import { v1Writes, type V1HostFacts } from '../../src/cgroups/v1/resources';
import { parseMountinfo, parseProcCgroup } from '../../src/cgroups/detect';
import { cgroupSubPath, resolveCgroupDirs } from '../../src/cgroups/paths';
import { withDefaultDeviceRules, DEFAULT_DEVICE_RULES } from '../../src/cgroups/devices/defaults';

const ALL = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'hugetlb', 'net_cls', 'net_prio', 'rdma'];
function host(controllers = ALL, missing: string[] = []): V1HostFacts {
  return { controllers: new Set(controllers), hasFile: (_c, f) => !missing.includes(f) };
}
const files = (writes: ReturnType<typeof v1Writes>): string[] => writes.map((w) => `${w.controller}/${w.file}=${w.value}`);

describe('cgroup v1 resource writes', () => {
  it('maps memory, cpu, pids, blkio, hugetlb, network and rdma to their files', () => {
    const writes = v1Writes(
      {
        memory: { limit: 1000, reservation: 500, swap: 2000, kernelTCP: 300, swappiness: 10, disableOOMKiller: true, useHierarchy: true },
        cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, realtimeRuntime: 10, realtimePeriod: 20, cpus: '0-1', mems: '0', idle: 0 },
        pids: { limit: 42 },
        blockIO: { weight: 300, leafWeight: 200, weightDevice: [{ major: 8, minor: 0, weight: 100 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
        hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
        network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 5 }] },
        rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
      },
      host(),
    );
    assert.deepEqual(files(writes), [
      'memory/memory.limit_in_bytes=1000',
      'memory/memory.memsw.limit_in_bytes=2000',
      'memory/memory.soft_limit_in_bytes=500',
      'memory/memory.kmem.tcp.limit_in_bytes=300',
      'memory/memory.swappiness=10',
      'memory/memory.oom_control=1',
      'memory/memory.use_hierarchy=1',
      'cpu/cpu.shares=512',
      'cpu/cpu.cfs_period_us=100000',
      'cpu/cpu.cfs_quota_us=50000',
      'cpu/cpu.cfs_burst_us=1000',
      'cpu/cpu.rt_period_us=20',
      'cpu/cpu.rt_runtime_us=10',
      'cpu/cpu.idle=0',
      'cpuset/cpuset.cpus=0-1',
      'cpuset/cpuset.mems=0',
      'pids/pids.max=42',
      'blkio/blkio.weight=300',
      'blkio/blkio.leaf_weight=200',
      'blkio/blkio.weight_device=8:0 100',
      'blkio/blkio.throttle.read_bps_device=8:0 1048576',
      'hugetlb/hugetlb.2MB.limit_in_bytes=4194304',
      'net_cls/net_cls.classid=1048577',
      'net_prio/net_prio.ifpriomap=eth0 5',
      'rdma/rdma.max=mlx5_1 hca_handle=3 hca_object=10000',
    ]);
    assert.equal(writes[1].field, '/linux/resources/memory/swap');
  });

  it('writes "max" for an unlimited pids limit', () => {
    assert.deepEqual(files(v1Writes({ pids: { limit: -1 } }, host())), ['pids/pids.max=max']);
  });

  it('writes 0 for a pids limit of 0 (a real limit, as on v2)', () => {
    assert.deepEqual(files(v1Writes({ pids: { limit: 0 } }, host())), ['pids/pids.max=0']);
  });

  it('lifts memory+swap with an unlimited memory limit that leaves swap out (the kernel refuses limit > memsw)', () => {
    assert.deepEqual(files(v1Writes({ memory: { limit: -1 } }, host())), ['memory/memory.limit_in_bytes=-1', 'memory/memory.memsw.limit_in_bytes=-1']);
    assert.deepEqual(files(v1Writes({ memory: { limit: -1, swap: 4096 } }, host())), ['memory/memory.limit_in_bytes=-1', 'memory/memory.memsw.limit_in_bytes=4096']);
  });

  it('writes disableOOMKiller false as 0 (an update turning the OOM killer back on)', () => {
    assert.deepEqual(files(v1Writes({ memory: { disableOOMKiller: false } }, host())), ['memory/memory.oom_control=0']);
  });

  it('names the field when the host cannot honour it', () => {
    assert.throws(() => v1Writes({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, host(['memory'])), /config.json: \/linux\/resources\/hugepageLimits\/0: the hugetlb cgroup controller is not available/);
    assert.throws(() => v1Writes({ memory: { limit: 10, swap: 20 } }, host(ALL, ['memory.memsw.limit_in_bytes'])), /\/linux\/resources\/memory\/swap: swap accounting is not enabled/);
    assert.throws(() => v1Writes({ unified: { 'memory.high': '1' } }, host()), /\/linux\/resources\/unified: needs cgroup v2/);
  });

  it('always asks for device rules when the devices controller exists', () => {
    let asked = 0;
    v1Writes({}, host(), () => {
      asked++;
      return [];
    });
    assert.equal(asked, 1);
  });
});

describe('default device rules', () => {
  it('follow the config rules in order; the default for a device the config names goes just before its rule', () => {
    const denyAll = { allow: false, access: 'rwm' };
    const allowTun = { allow: true, type: 'c' as const, major: 10, minor: 229, access: 'rwm' };
    const denyNullWrite = { allow: false, type: 'c' as const, major: 1, minor: 3, access: 'w' };
    const rules = withDefaultDeviceRules([denyAll, allowTun, denyNullWrite]);
    const nullDefault = DEFAULT_DEVICE_RULES.find((r) => r.major === 1 && r.minor === 3);
    assert.deepEqual(rules.slice(0, 4), [denyAll, allowTun, nullDefault, denyNullWrite]);
    const rest = rules.slice(4);
    assert.equal(rest.length, DEFAULT_DEVICE_RULES.length - 1);
    assert.ok(!rest.includes(nullDefault!), 'the default /dev/null rule must not come after the config\'s');
    assert.deepEqual(withDefaultDeviceRules([]), DEFAULT_DEVICE_RULES);
  });
});

describe('cgroup layout and paths', () => {
  const hybrid = [
    '30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755',
    '31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
    '32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
    '33 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
    '34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
  ].join('\n');

  it('reads a hybrid host as v1 with its controller mounts', () => {
    const layout = parseMountinfo(hybrid);
    assert.equal(layout.version, 'v1');
    assert.equal(layout.v1Mounts.get('cpu'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(layout.v1Mounts.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(layout.v1Mounts.get('name=systemd'), '/sys/fs/cgroup/systemd');
    assert.equal(layout.unifiedMount, '/sys/fs/cgroup/unified');
  });

  it('reads a unified host as v2', () => {
    const layout = parseMountinfo('30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate');
    assert.equal(layout.version, 'v2');
    assert.equal(layout.unifiedMount, '/sys/fs/cgroup');
  });

  it('joins relative and default paths to our own cgroup, absolute ones to the root', () => {
    assert.equal(cgroupSubPath(undefined, 'c1', '/user.slice/me'), '/user.slice/me/tsrun/c1');
    assert.equal(cgroupSubPath('a/b', 'c1', '/own'), '/own/a/b');
    assert.equal(cgroupSubPath('/abs/x', 'c1', '/own'), '/abs/x');
    assert.throws(() => cgroupSubPath('../../escape', 'c1', '/own'), /must not climb out/);
    assert.throws(() => cgroupSubPath('system.slice:tsrun:c1', 'c1', '/'), /systemd/);
  });

  it('gives each v1 controller its own directory under our cgroup in that hierarchy', () => {
    const own = parseProcCgroup('4:memory:/process_api/x\n2:cpu,cpuacct:/\n1:name=systemd:/\n0::/\n');
    const state = resolveCgroupDirs(parseMountinfo(hybrid), undefined, 'c1', own);
    assert.equal(state.version, 'v1');
    assert.equal(state.paths.memory, '/sys/fs/cgroup/memory/process_api/x/tsrun/c1');
    assert.equal(state.paths.cpu, '/sys/fs/cgroup/cpu,cpuacct/tsrun/c1');
    assert.equal(state.paths['name=systemd'], '/sys/fs/cgroup/systemd/tsrun/c1');
    // The hybrid host's cgroup2 hierarchy too, so a cgroup namespace roots the container there.
    assert.equal(state.paths[''], '/sys/fs/cgroup/unified/tsrun/c1');
  });

  // A root shell on a systemd host sits in a leaf scope, which holds processes
  // and so cannot enable controllers for a child: runc places relative paths
  // beside it, in the parent, and so does tsrun.
  it('on a unified host puts relative and default paths beside our own cgroup, in its parent', () => {
    const unified = parseMountinfo('30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate');
    const own = parseProcCgroup('0::/user.slice/user-0.slice/session-1.scope\n');
    assert.deepEqual(resolveCgroupDirs(unified, undefined, 'c1', own).paths, { '': '/sys/fs/cgroup/user.slice/user-0.slice/tsrun/c1' });
    assert.deepEqual(resolveCgroupDirs(unified, 'pod/c1', 'c1', own).paths, { '': '/sys/fs/cgroup/user.slice/user-0.slice/pod/c1' });
    assert.deepEqual(resolveCgroupDirs(unified, '/abs/c1', 'c1', own).paths, { '': '/sys/fs/cgroup/abs/c1' });
    // From the root cgroup (no init system), the root.
    assert.deepEqual(resolveCgroupDirs(unified, undefined, 'c1', parseProcCgroup('0::/\n')).paths, { '': '/sys/fs/cgroup/tsrun/c1' });
  });
});
