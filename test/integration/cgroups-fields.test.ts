// Every linux.resources field, one row each (or per group): the cgroup
// file(s) tsrun must write on create, what `tsrun update` changes, and that
// nothing is left after delete - on cgroup v2 (the project's VM) and on
// cgroup v1 (this hybrid host), with the file names and values of each.
// A field a version has no equivalent for must be refused with one line
// naming it (the project's rule; runc drops several of them silently).
// Where the kernel lets a test see it cheaply, the effect is checked from
// inside the container too (memory, cpuset, pids, hugetlb, io throttling).
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/harness';
import { Session } from '../helpers/session';
import {
  MiB,
  V1_UNLIMITED,
  V2,
  byVersion,
  canRead,
  containerHas,
  diskNumbers,
  ownV1Has,
  rdmaDevices,
  runFieldCase,
  setUpThrowawayVm,
  type FieldCase,
  type Files,
  type Outcome,
} from './cgroups-fields-common';

const DISK = diskNumbers();
const DEV = `${DISK.major}:${DISK.minor}`;

/** tsrun's one-line refusal of `field` (a path under /linux/resources), its reason matching `why`. */
function refused(field: string, why: RegExp = /./): { refused: RegExp } {
  const escaped = `/linux/resources/${field}: `.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return { refused: new RegExp(`${escaped}.*${why.source}`) };
}

/** Applied where this kernel has the file, else refused naming the field. */
function appliedOrRefused(field: string, files: Files, why?: RegExp): Outcome {
  return { ...refused(field, why), orFiles: files };
}

/** Refused on v2, which has no such file: the v1-only fields. */
function v1Only(field: string, v1: Outcome, update?: [FieldCase['create'], Outcome]): Pick<FieldCase, 'expect' | 'updates'> {
  return {
    expect: byVersion(v1, refused(field, /cgroup v2/)),
    updates: update ? [{ resources: update[0], expect: update[1] }] : [],
  };
}

// Allocates 40 MiB in one process: `tail` keeps input without a newline in memory.
const ALLOC_40M = { cmd: 'head -c 40m /dev/zero | tail | wc -c', big: /^41943040$/m, killed: /^0$/m };
// Forks ten sleepers; ash gives up at the first fork that fails.
const FORK_10 = 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 60 & done; echo forked-all';

const memoryCases: FieldCase[] = [
  {
    name: 'memory: limit, reservation and swap (v2: memory.swap.max = swap - limit); the limit OOM-kills inside',
    create: { memory: { limit: 32 * MiB, reservation: 16 * MiB, swap: 64 * MiB } },
    expect: byVersion(
      {
        files: { 'memory.limit_in_bytes': `${32 * MiB}`, 'memory.soft_limit_in_bytes': `${16 * MiB}`, 'memory.memsw.limit_in_bytes': `${64 * MiB}` },
        inside: { cmd: ALLOC_40M.cmd, output: ALLOC_40M.killed },
      },
      { files: { 'memory.max': `${32 * MiB}`, 'memory.low': `${16 * MiB}`, 'memory.swap.max': `${32 * MiB}` }, inside: { cmd: ALLOC_40M.cmd, output: ALLOC_40M.killed } },
    ),
    updates: [
      {
        resources: { memory: { limit: 128 * MiB, reservation: 8 * MiB, swap: 160 * MiB } },
        expect: byVersion(
          {
            files: { 'memory.limit_in_bytes': `${128 * MiB}`, 'memory.soft_limit_in_bytes': `${8 * MiB}`, 'memory.memsw.limit_in_bytes': `${160 * MiB}` },
            inside: { cmd: ALLOC_40M.cmd, output: ALLOC_40M.big },
          },
          { files: { 'memory.max': `${128 * MiB}`, 'memory.low': `${8 * MiB}`, 'memory.swap.max': `${32 * MiB}` }, inside: { cmd: ALLOC_40M.cmd, output: ALLOC_40M.big } },
        ),
      },
    ],
  },
  {
    name: 'memory: a limit of -1 is "max" (and takes swap with it); a limit then -1 again',
    create: { memory: { limit: -1, swap: -1 } },
    expect: byVersion(
      { files: { 'memory.limit_in_bytes': V1_UNLIMITED, 'memory.memsw.limit_in_bytes': V1_UNLIMITED } },
      { files: { 'memory.max': 'max', 'memory.swap.max': 'max' } },
    ),
    updates: [
      {
        resources: { memory: { limit: 32 * MiB, swap: 32 * MiB } },
        expect: byVersion(
          { files: { 'memory.limit_in_bytes': `${32 * MiB}`, 'memory.memsw.limit_in_bytes': `${32 * MiB}` } },
          { files: { 'memory.max': `${32 * MiB}`, 'memory.swap.max': '0' } },
        ),
      },
      {
        // runc: "-1 with swap unset means unlimited memory", so memsw goes to -1 too.
        resources: { memory: { limit: -1 } },
        expect: byVersion(
          { files: { 'memory.limit_in_bytes': V1_UNLIMITED, 'memory.memsw.limit_in_bytes': V1_UNLIMITED } },
          { files: { 'memory.max': 'max', 'memory.swap.max': 'max' } },
        ),
      },
    ],
  },
  {
    // Linux 5.16+ keeps the v1 file but ignores writes to it: applied means the value reads back.
    name: 'memory: kernel (v1 memory.kmem.limit_in_bytes; v2 refuses)',
    create: { memory: { kernel: 32 * MiB } },
    ...v1Only('memory/kernel', appliedOrRefused('memory/kernel', { 'memory.kmem.limit_in_bytes': `${32 * MiB}` })),
  },
  {
    name: 'memory: kernelTCP (v1 memory.kmem.tcp.limit_in_bytes; v2 refuses)',
    create: { memory: { kernelTCP: 32 * MiB } },
    ...v1Only('memory/kernelTCP', { files: { 'memory.kmem.tcp.limit_in_bytes': `${32 * MiB}` } }, [
      { memory: { kernelTCP: 64 * MiB } },
      { files: { 'memory.kmem.tcp.limit_in_bytes': `${64 * MiB}` } },
    ]),
  },
  {
    name: 'memory: swappiness (v1 memory.swappiness; v2 refuses)',
    create: { memory: { swappiness: 10 } },
    ...v1Only('memory/swappiness', { files: { 'memory.swappiness': '10' } }, [{ memory: { swappiness: 20 } }, { files: { 'memory.swappiness': '20' } }]),
  },
  {
    name: 'memory: disableOOMKiller true, then false (v1 memory.oom_control; v2 refuses)',
    create: { memory: { disableOOMKiller: true } },
    ...v1Only('memory/disableOOMKiller', { files: { 'memory.oom_control:oom_kill_disable': '1' } }, [
      { memory: { disableOOMKiller: false } },
      { files: { 'memory.oom_control:oom_kill_disable': '0' } },
    ]),
  },
  {
    // Hierarchical accounting is all Linux 5.11+ does (v1 refuses 0 with EINVAL) and all v2 has.
    name: 'memory: useHierarchy true is kept, false refused',
    create: { memory: { useHierarchy: true } },
    expect: byVersion({ files: { 'memory.use_hierarchy': '1' } }, { files: {} }),
    updates: [{ resources: { memory: { useHierarchy: false } }, expect: refused('memory/useHierarchy') }],
  },
  {
    name: 'memory: checkBeforeUpdate refuses a limit under the current usage, takes one above it',
    create: { memory: { limit: 256 * MiB } },
    expect: byVersion({ files: { 'memory.limit_in_bytes': `${256 * MiB}` } }, { files: { 'memory.max': `${256 * MiB}` } }),
    updates: [
      { resources: { memory: { limit: 8192, checkBeforeUpdate: true } }, expect: refused('memory/limit', /current usage/) },
      {
        resources: { memory: { limit: 128 * MiB, checkBeforeUpdate: true } },
        expect: byVersion({ files: { 'memory.limit_in_bytes': `${128 * MiB}` } }, { files: { 'memory.max': `${128 * MiB}` } }),
      },
    ],
  },
];

const cpuCases: FieldCase[] = [
  {
    // cpu.weight per runc's (opencontainers/cgroups 0.0.3+) and crun's curve: 2 -> 1, 1024 -> 100, 262144 -> 10000.
    name: 'cpu: shares (v2 cpu.weight: 512 -> 59, 2048 -> 174)',
    create: { cpu: { shares: 512 } },
    expect: byVersion({ files: { 'cpu.shares': '512' } }, { files: { 'cpu.weight': '59' } }),
    updates: [{ resources: { cpu: { shares: 2048 } }, expect: byVersion({ files: { 'cpu.shares': '2048' } }, { files: { 'cpu.weight': '174' } }) }],
  },
  {
    name: 'cpu: quota and period (v2 cpu.max); a quota alone keeps the period; -1 is no limit',
    create: { cpu: { quota: 50000, period: 100000 } },
    expect: byVersion({ files: { 'cpu.cfs_quota_us': '50000', 'cpu.cfs_period_us': '100000' } }, { files: { 'cpu.max': '50000 100000' } }),
    updates: [
      {
        resources: { cpu: { quota: 20000, period: 50000 } },
        expect: byVersion({ files: { 'cpu.cfs_quota_us': '20000', 'cpu.cfs_period_us': '50000' } }, { files: { 'cpu.max': '20000 50000' } }),
      },
      // Fields left out keep their values (`tsrun update --cpu-quota`).
      {
        resources: { cpu: { quota: 30000 } },
        expect: byVersion({ files: { 'cpu.cfs_quota_us': '30000', 'cpu.cfs_period_us': '50000' } }, { files: { 'cpu.max': '30000 50000' } }),
      },
      {
        resources: { cpu: { quota: -1, period: 50000 } },
        expect: byVersion({ files: { 'cpu.cfs_quota_us': '-1', 'cpu.cfs_period_us': '50000' } }, { files: { 'cpu.max': 'max 50000' } }),
      },
    ],
  },
  {
    name: 'cpu: burst (v1 cpu.cfs_burst_us, v2 cpu.max.burst)',
    create: { cpu: { quota: 50000, period: 100000, burst: 10000 } },
    expect: byVersion({ files: { 'cpu.cfs_burst_us': '10000' } }, { files: { 'cpu.max.burst': '10000', 'cpu.max': '50000 100000' } }),
    updates: [{ resources: { cpu: { burst: 20000 } }, expect: byVersion({ files: { 'cpu.cfs_burst_us': '20000' } }, { files: { 'cpu.max.burst': '20000' } }) }],
  },
  {
    name: 'cpu: cpus and mems (cpuset.cpus, cpuset.mems); the affinity inside follows',
    create: { cpu: { cpus: '1', mems: '0' } },
    expect: { files: { 'cpuset.cpus': '1', 'cpuset.mems': '0' }, inside: { cmd: 'grep Cpus_allowed_list /proc/self/status', output: /Cpus_allowed_list:\s+1$/m } },
    updates: [
      {
        resources: { cpu: { cpus: '0-1' } },
        expect: { files: { 'cpuset.cpus': '0-1', 'cpuset.mems': '0' }, inside: { cmd: 'grep Cpus_allowed_list /proc/self/status', output: /Cpus_allowed_list:\s+0-1$/m } },
      },
    ],
  },
  {
    name: 'cpu: idle (cpu.idle)',
    create: { cpu: { idle: 1 } },
    expect: { files: { 'cpu.idle': '1' } },
    updates: [{ resources: { cpu: { idle: 0 } }, expect: { files: { 'cpu.idle': '0' } } }],
  },
  {
    name: 'cpu: realtimePeriod (v1 cpu.rt_period_us; v2 has no RT group scheduling: refused)',
    create: { cpu: { realtimePeriod: 500000 } },
    expect: byVersion({ files: { 'cpu.rt_period_us': '500000' } }, refused('cpu/realtimePeriod', /real-time/)),
    updates: [{ resources: { cpu: { realtimePeriod: 800000 } }, expect: { files: { 'cpu.rt_period_us': '800000' } } }],
  },
  {
    // v1: the tsrun/ level between our cgroup and the container's has no RT budget of its own (0), so the kernel says EINVAL.
    name: 'cpu: realtimeRuntime (v1 cpu.rt_runtime_us, or refused naming it; v2 refuses)',
    create: { cpu: { realtimeRuntime: 10000, realtimePeriod: 1000000 } },
    expect: byVersion(
      appliedOrRefused('cpu/realtimeRuntime', { 'cpu.rt_runtime_us': '10000' }),
      { refused: /\/linux\/resources\/cpu\/realtime(Runtime|Period): .*real-time/ },
    ),
  },
];

const pidsCases: FieldCase[] = [
  {
    name: 'pids: a limit holds forks inside; -1 is max; 0 is a limit of 0',
    create: { pids: { limit: 6 } },
    expect: { files: { 'pids.max': '6' }, inside: { cmd: FORK_10, output: /can't fork/ } },
    updates: [
      { resources: { pids: { limit: -1 } }, expect: { files: { 'pids.max': 'max' }, inside: { cmd: FORK_10, output: /forked-all/ } } },
      // config-linux.md: pids.limit is the maximum; 0 is a value like any other, not "unset".
      { resources: { pids: { limit: 0 } }, expect: { files: { 'pids.max': '0' } } },
    ],
  },
];

/** Throttling rules, and the files they give: on v2 the one io.max line the kernel keeps per device. */
const THROTTLE = { throttleReadBpsDevice: 1 * MiB, throttleWriteBpsDevice: 2 * MiB, throttleReadIOPSDevice: 100, throttleWriteIOPSDevice: 200 };
const throttleRules = (rates: typeof THROTTLE): FieldCase['create'] => ({
  blockIO: Object.fromEntries(Object.entries(rates).map(([k, rate]) => [k, [{ major: DISK.major, minor: DISK.minor, rate }]])),
});
function throttleFiles(rates: typeof THROTTLE): Files {
  if (V2) {
    const { throttleReadBpsDevice: rbps, throttleWriteBpsDevice: wbps, throttleReadIOPSDevice: riops, throttleWriteIOPSDevice: wiops } = rates;
    return { 'io.max': `${DEV} rbps=${rbps} wbps=${wbps} riops=${riops} wiops=${wiops}` };
  }
  return {
    'blkio.throttle.read_bps_device': `${DEV} ${rates.throttleReadBpsDevice}`,
    'blkio.throttle.write_bps_device': `${DEV} ${rates.throttleWriteBpsDevice}`,
    'blkio.throttle.read_iops_device': `${DEV} ${rates.throttleReadIOPSDevice}`,
    'blkio.throttle.write_iops_device': `${DEV} ${rates.throttleWriteIOPSDevice}`,
  };
}

// 4 MiB read with O_DIRECT at 1 MiB/s: at least 3 s (date's second granularity; the first slice lets a little through early).
const READ_4M = `t0=$(date +%s); dd if=/dev/${DISK.name} of=/dev/null bs=64k count=64 iflag=direct 2>&1 | tail -1; echo "took=$(( $(date +%s) - t0 ))"`;

const blockIOCases: FieldCase[] = [
  {
    // io.bfq.weight takes the v1 scale (and "MAJ:MIN W" lines), io.weight its own: 500 -> 4949.
    name: 'blockIO: weight and weightDevice (v2 io.bfq.weight or io.weight; v1 blkio[.bfq].weight)',
    create: { blockIO: { weight: 500, weightDevice: [{ major: DISK.major, minor: DISK.minor, weight: 300 }] } },
    expect: (id) => blkioWeight(id, 500),
    updates: [{ resources: { blockIO: { weight: 200 } }, expect: (id) => blkioWeight(id, 200) }],
  },
  {
    name: 'blockIO: leafWeight (v1 blkio.leaf_weight where CFQ is; v2 refuses)',
    create: { blockIO: { leafWeight: 500 } },
    ...v1Only('blockIO/leafWeight', appliedOrRefused('blockIO/leafWeight', { 'blkio.leaf_weight': '500' })),
  },
  {
    name: `blockIO: the four throttles on the disk (${DEV}); a read inside is held to the rate`,
    create: throttleRules(THROTTLE),
    mutate: (spec) => {
      // The disk in the container, readable, for the effect check.
      spec.linux!.devices = [...(spec.linux!.devices ?? []), { path: `/dev/${DISK.name}`, type: 'b', major: DISK.major, minor: DISK.minor, fileMode: 0o440 }];
      spec.linux!.resources!.devices!.push({ allow: true, type: 'b', major: DISK.major, minor: DISK.minor, access: 'r' });
    },
    expect: {
      files: throttleFiles(THROTTLE),
      // This host's own devices cgroup keeps even root from opening its disk: there, the files only.
      ...(canRead(`/dev/${DISK.name}`) ? { inside: { cmd: READ_4M, output: /^64\+0 records out\ntook=([3-9]|\d\d+)$/m } } : {}),
    },
    updates: [{ resources: throttleRules({ ...THROTTLE, throttleReadBpsDevice: 4 * MiB }), expect: { files: throttleFiles({ ...THROTTLE, throttleReadBpsDevice: 4 * MiB }) } }],
  },
];

const ioWeight = (blkioWeight: number): number => 1 + Math.floor(((blkioWeight - 10) * 9999) / 990);

function blkioWeight(id: string, weight: number): Outcome {
  const weightField = /\/linux\/resources\/blockIO\/weight(Device\/0\/weight)?: /;
  if (!V2) {
    // No CFQ and no BFQ (this host): neither file, so the field cannot be applied.
    const file = ownV1Has('blkio', 'blkio.weight') ? 'blkio.weight' : 'blkio.bfq.weight';
    return { refused: weightField, orFiles: { [file]: String(weight) } };
  }
  if (containerHas(id, 'io.bfq.weight')) return { files: { 'io.bfq.weight': `default ${weight}\n${DEV} 300` } };
  // iocost takes a device's weight only once it is enabled on that disk (io.cost.qos).
  return { refused: weightField, orFiles: { 'io.weight': `default ${ioWeight(weight)}\n${DEV} ${ioWeight(300)}` } };
}

// 2 MiB pages: 2 of them under a 4 MiB limit, a third refused; after the update to 8 MiB it fits.
const HUGE_MOUNT = { destination: '/hugepages', type: 'hugetlbfs', source: 'hugetlbfs', options: ['pagesize=2M'] };
/** v1: this host mounts no hugetlb hierarchy (its hugetlb is in the cgroup2 tree), so a refusal is right there. */
function hugeOutcome(limit: number, inside: { cmd: string; output: RegExp }): Outcome {
  if (!V2) return appliedOrRefused('hugepageLimits/0', { 'hugetlb.2MB.limit_in_bytes': String(limit) }, /hugetlb/);
  return { files: { 'hugetlb.2MB.max': String(limit), 'hugetlb.2MB.rsvd.max': String(limit) }, inside };
}

const otherCases: FieldCase[] = [
  {
    name: 'hugepageLimits: 2MB (v2 hugetlb.2MB.max and .rsvd.max); a third page past the limit fails inside',
    create: { hugepageLimits: [{ pageSize: '2MB', limit: 4 * MiB }] },
    mutate: (spec) => spec.mounts!.push(HUGE_MOUNT),
    expect: hugeOutcome(4 * MiB, {
      cmd: 'fallocate -l 4m /hugepages/a && echo two-fit; fallocate -l 2m /hugepages/b || echo third-refused',
      output: /two-fit[^]*third-refused/,
    }),
    updates: [
      {
        resources: { hugepageLimits: [{ pageSize: '2MB', limit: 8 * MiB }] },
        expect: hugeOutcome(8 * MiB, { cmd: 'fallocate -l 2m /hugepages/b && echo third-fits', output: /third-fits/ }),
      },
    ],
  },
  {
    name: 'rdma: a device limit (v2 rdma.max: soft-RoCE on loopback in the VM)',
    create: { rdma: { [rdmaDevices()[0] ?? 'rxe0']: { hcaHandles: 2 } } },
    expect: () => rdmaOutcome({ hcaHandles: 2 }),
    updates: [{ resources: { rdma: { [rdmaDevices()[0] ?? 'rxe0']: { hcaObjects: 100 } } }, expect: () => rdmaOutcome({ hcaHandles: 2, hcaObjects: 100 }) }],
  },
  {
    name: 'rdma: a device that does not exist is refused naming it',
    create: { rdma: { 'tsrun-nodev0': { hcaHandles: 2 } } },
    expect: byVersion(refused('rdma/tsrun-nodev0', /rdma/), refused('rdma/tsrun-nodev0', /ENODEV|no such|not exist/i)),
  },
  {
    name: 'unified: memory.high and pids.max written and read back (v1 refuses unified)',
    create: { unified: { 'memory.high': `${48 * MiB}`, 'pids.max': '7' } },
    expect: byVersion(refused('unified', /cgroup v2/), { files: { 'memory.high': `${48 * MiB}`, 'pids.max': '7' } }),
    updates: [{ resources: { unified: { 'memory.high': 'max' } }, expect: { files: { 'memory.high': 'max', 'pids.max': '7' } } }],
  },
  {
    name: 'unified: a file the cgroup lacks is refused naming the key',
    create: { unified: { 'memory.nosuch': '1' } },
    expect: byVersion(refused('unified', /cgroup v2/), refused('unified/memory.nosuch', /no memory\.nosuch/)),
  },
  {
    name: 'unified: a controller that is not enabled is refused naming the key',
    create: { unified: { 'net_cls.classid': '1' } },
    expect: byVersion(refused('unified', /cgroup v2/), refused('unified/net_cls.classid', /net_cls controller is not enabled/)),
  },
  {
    name: 'network: classID (v1 net_cls.classid where mounted; v2 refuses)',
    create: { network: { classID: 5 } },
    expect: byVersion(appliedOrRefused('network/classID', { 'net_cls.classid': '5' }), refused('network/classID', /net_cls/)),
  },
  {
    name: 'network: priorities (v1 net_prio.ifpriomap where mounted; v2 refuses)',
    create: { network: { priorities: [{ name: 'lo', priority: 5 }] } },
    expect: byVersion(appliedOrRefused('network/priorities/0', { 'net_prio.ifpriomap:lo': '5' }), refused('network/priorities', /net_prio/)),
  },
];

function rdmaOutcome(limit: { hcaHandles: number; hcaObjects?: number }): Outcome {
  const device = rdmaDevices()[0] ?? 'rxe0';
  if (!V2) return refused(`rdma/${device}`, /rdma/);
  if (rdmaDevices().length === 0) return refused(`rdma/${device}`, /ENODEV/);
  return { files: { 'rdma.max': `${device} hca_handle=${limit.hcaHandles} hca_object=${limit.hcaObjects ?? 'max'}` } };
}

describe('cgroups: every linux.resources field, create / update / delete', function () {
  this.timeout(300000);
  let s: Session;
  let scratch: string;
  before(() => setUpThrowawayVm(DISK.name));
  beforeEach(() => {
    s = new Session();
    scratch = tempDir('tsrun-cgf-');
  });
  afterEach(() => {
    s.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  for (const c of [...memoryCases, ...cpuCases, ...pidsCases, ...blockIOCases, ...otherCases]) {
    it(c.name, () => runFieldCase(s, c, scratch));
  }
});
