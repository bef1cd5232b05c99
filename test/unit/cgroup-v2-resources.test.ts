// linux.resources -> cgroup v2 writes, conversions, refusals, and stats parsing.
import assert from 'node:assert/strict';
import type { LinuxResources } from '../../src/spec/types';
import { UserError } from '../../src/errors';
import type { CgroupWrite } from '../../src/cgroups/types';
import {
  blkioWeightToIoWeight,
  memorySwapToV2,
  sharesToCpuWeight,
  v2Writes,
  type V2HostFacts,
} from '../../src/cgroups/v2/resources';
import { UNLIMITED, parseV2Stats } from '../../src/cgroups/v2/stats';

/** The files of a non-root cgroup on a 6.x kernel with every controller enabled and BFQ. */
const FULL = [
  'cgroup.controllers', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.type', 'cgroup.freeze', 'cgroup.kill',
  'cpu.stat', 'cpu.stat.local', 'cpu.pressure', 'cpu.weight', 'cpu.weight.nice', 'cpu.max', 'cpu.max.burst', 'cpu.idle',
  'cpuset.cpus', 'cpuset.mems', 'cpuset.cpus.effective', 'cpuset.mems.effective',
  'memory.current', 'memory.max', 'memory.high', 'memory.low', 'memory.min', 'memory.stat', 'memory.events', 'memory.peak', 'memory.pressure',
  'memory.swap.current', 'memory.swap.max', 'memory.swap.events', 'memory.oom.group',
  'pids.current', 'pids.max', 'pids.events',
  'io.stat', 'io.max', 'io.weight', 'io.bfq.weight', 'io.pressure',
  'hugetlb.2MB.max', 'hugetlb.2MB.current', 'hugetlb.2MB.events', 'hugetlb.2MB.rsvd.max', 'hugetlb.2MB.rsvd.current',
  'hugetlb.1GB.max', 'hugetlb.1GB.current', 'hugetlb.1GB.events', 'hugetlb.1GB.rsvd.max', 'hugetlb.1GB.rsvd.current',
  'rdma.max', 'rdma.current',
];

function host(opts: { without?: string[]; with?: string[]; bfqPerDevice?: boolean; usage?: V2HostFacts['usage'] } = {}): V2HostFacts {
  const files = new Set([...FULL, ...(opts.with ?? [])]);
  for (const f of opts.without ?? []) files.delete(f);
  return { files, bfqPerDevice: opts.bfqPerDevice ?? true, usage: opts.usage };
}

/** [file, value] pairs, the shape most assertions need. */
function writes(resources: LinuxResources, facts = host()): Array<[string, string]> {
  return v2Writes(resources, facts).map((w) => [w.file, w.value]);
}

function refused(resources: LinuxResources, pattern: RegExp, facts = host()): void {
  assert.throws(
    () => v2Writes(resources, facts),
    (err: unknown) => {
      assert.ok(err instanceof UserError, `not a UserError: ${String(err)}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('cgroup v2 conversions', () => {
  it('maps cpu shares onto cpu.weight with min, default and max meeting', () => {
    assert.equal(sharesToCpuWeight(0), 0);
    assert.equal(sharesToCpuWeight(1), 1);
    assert.equal(sharesToCpuWeight(2), 1);
    assert.equal(sharesToCpuWeight(1024), 100);
    assert.equal(sharesToCpuWeight(262144), 10000);
    assert.equal(sharesToCpuWeight(1_000_000), 10000);
    // Values off the three anchor points, as runc's and crun's formula gives them.
    assert.equal(sharesToCpuWeight(3), 2);
    assert.equal(sharesToCpuWeight(512), 59);
    assert.equal(sharesToCpuWeight(2048), 174);
    assert.equal(sharesToCpuWeight(262143), 10000);
  });

  it('is monotonic over the whole shares range', () => {
    let last = 0;
    for (let s = 2; s <= 262144; s += 97) {
      const w = sharesToCpuWeight(s);
      assert.ok(w >= last && w >= 1 && w <= 10000, `shares ${s} -> ${w} after ${last}`);
      last = w;
    }
  });

  it('maps blkio weight [10,1000] linearly onto io.weight [1,10000]', () => {
    assert.equal(blkioWeightToIoWeight(0), 0);
    assert.equal(blkioWeightToIoWeight(10), 1);
    assert.equal(blkioWeightToIoWeight(100), 910);
    assert.equal(blkioWeightToIoWeight(500), 4950);
    assert.equal(blkioWeightToIoWeight(1000), 10000);
    assert.equal(blkioWeightToIoWeight(1), 1);
  });

  it('turns memory+swap into swap alone', () => {
    assert.equal(memorySwapToV2(undefined, undefined), undefined);
    assert.equal(memorySwapToV2(0, 1000), undefined);
    assert.equal(memorySwapToV2(undefined, -1), 'max');
    assert.equal(memorySwapToV2(0, -1), 'max');
    assert.equal(memorySwapToV2(-1, 1000), 'max');
    assert.equal(memorySwapToV2(3000, -1), '3000');
    assert.equal(memorySwapToV2(3000, 1000), '2000');
    assert.equal(memorySwapToV2(1000, 1000), '0');
    assert.throws(() => memorySwapToV2(3000, undefined), /memory\/swap: .*needs memory.limit/);
    assert.throws(() => memorySwapToV2(3000, 0), /memory\/swap: .*needs memory.limit/);
    assert.throws(() => memorySwapToV2(500, 1000), /memory\/swap: memory\+swap \(500\) is less than memory.limit \(1000\)/);
    assert.throws(() => memorySwapToV2(-5, 1000), /memory\/swap: -5 is not a byte count/);
  });
});

describe('cgroup v2 writes', () => {
  it('writes nothing for empty resources', () => {
    assert.deepEqual(v2Writes({}, host()), []);
    assert.deepEqual(v2Writes({ memory: {}, cpu: {}, blockIO: {}, network: {}, hugepageLimits: [], rdma: {}, unified: {} }, host()), []);
  });

  it('gives every write controller "" and the JSON pointer of its field', () => {
    const all = v2Writes({ memory: { limit: 1 << 20 }, pids: { limit: 5 } }, host());
    assert.deepEqual(all, [
      { controller: '', file: 'memory.max', value: '1048576', field: '/linux/resources/memory/limit' },
      { controller: '', file: 'pids.max', value: '5', field: '/linux/resources/pids/limit' },
    ] satisfies CgroupWrite[]);
  });

  describe('memory', () => {
    it('maps limit, swap and reservation', () => {
      assert.deepEqual(writes({ memory: { limit: 1000, swap: 3000, reservation: 500 } }), [
        ['memory.max', '1000'],
        ['memory.swap.max', '2000'],
        ['memory.low', '500'],
      ]);
    });
    it('writes "max" for -1 and swap "max" when memory is unlimited', () => {
      assert.deepEqual(writes({ memory: { limit: -1 } }), [['memory.max', 'max'], ['memory.swap.max', 'max']]);
      assert.deepEqual(writes({ memory: { limit: 1000, swap: -1, reservation: -1 } }), [['memory.max', '1000'], ['memory.swap.max', 'max'], ['memory.low', 'max']]);
    });
    it('writes swap "0" when memory+swap equals the limit', () => {
      assert.deepEqual(writes({ memory: { limit: 1000, swap: 1000 } }), [['memory.max', '1000'], ['memory.swap.max', '0']]);
    });
    it('treats 0 as unset for limit and reservation', () => {
      assert.deepEqual(writes({ memory: { limit: 0, reservation: 0, swap: 0 } }), []);
    });
    it('refuses swap it cannot compute', () => {
      refused({ memory: { swap: 3000 } }, /^config.json: \/linux\/resources\/memory\/swap: .*memory.limit/);
      refused({ memory: { limit: 2000, swap: 1000 } }, /memory\/swap: memory\+swap \(1000\) is less than/);
    });
    it('refuses a swap limit without swap accounting, but lets "max" and "0" pass', () => {
      const noSwap = host({ without: ['memory.swap.max', 'memory.swap.current', 'memory.swap.events'] });
      refused({ memory: { limit: 1000, swap: 3000 } }, /^config.json: \/linux\/resources\/memory\/swap: swap accounting is not enabled on this host/, noSwap);
      assert.deepEqual(writes({ memory: { limit: 1000, swap: 1000 } }, noSwap), [['memory.max', '1000']]);
      assert.deepEqual(writes({ memory: { limit: -1 } }, noSwap), [['memory.max', 'max']]);
    });
    it('refuses bad byte counts', () => {
      refused({ memory: { limit: -2 } }, /memory\/limit: -2 is not a byte count/);
      refused({ memory: { reservation: 1.5 } }, /memory\/reservation: 1.5 is not a byte count/);
    });
    it('accepts kernel and kernelTCP only as -1 or 0, which v2 does anyway', () => {
      assert.deepEqual(writes({ memory: { kernel: -1, kernelTCP: -1 } }), []);
      assert.deepEqual(writes({ memory: { kernel: 0, kernelTCP: 0 } }), []);
      refused({ memory: { kernel: 1 << 20 } }, /memory\/kernel: cgroup v2 has no separate kernel memory limit/);
      refused({ memory: { kernelTCP: 1 << 20 } }, /memory\/kernelTCP: cgroup v2 has no separate kernel memory limit/);
    });
    it('refuses swappiness, disableOOMKiller true and useHierarchy false', () => {
      refused({ memory: { swappiness: 0 } }, /^config.json: \/linux\/resources\/memory\/swappiness: cgroup v2 has no per-cgroup swappiness/);
      refused({ memory: { swappiness: 60 } }, /memory\/swappiness/);
      refused({ memory: { disableOOMKiller: true } }, /memory\/disableOOMKiller: cgroup v2 cannot turn the OOM killer off/);
      refused({ memory: { useHierarchy: false } }, /memory\/useHierarchy: cgroup v2 memory accounting is always hierarchical/);
      assert.deepEqual(writes({ memory: { disableOOMKiller: false, useHierarchy: true } }), []);
    });
    it('checks a new limit against current usage when checkBeforeUpdate asks', () => {
      const busy = host({ usage: { memory: 5000, swap: 1000 } });
      refused({ memory: { limit: 5000, checkBeforeUpdate: true } }, /memory\/limit: 5000 is not above the current usage of 5000 bytes/, busy);
      refused({ memory: { limit: 8000, swap: 6000, checkBeforeUpdate: true } }, /memory\/swap: 6000 is not above the current memory\+swap usage of 6000/, busy);
      assert.deepEqual(writes({ memory: { limit: 5001, checkBeforeUpdate: true } }, busy), [['memory.max', '5001']]);
      // Without the flag the kernel is left to OOM-kill, as the spec allows.
      assert.deepEqual(writes({ memory: { limit: 10 } }, busy), [['memory.max', '10']]);
      // Without usage figures the check is skipped (it is a MAY).
      assert.deepEqual(writes({ memory: { limit: 10, checkBeforeUpdate: true } }), [['memory.max', '10']]);
    });
    it('names the controller when memory is not enabled', () => {
      const noMemory = host({ without: FULL.filter((f) => f.startsWith('memory.') && f !== 'memory.pressure') });
      refused({ memory: { limit: 1000 } }, /memory\/limit: the memory controller is not enabled for this cgroup \(no memory.max\)/, noMemory);
      refused({ memory: { reservation: 5 } }, /memory\/reservation: the memory controller is not enabled/, noMemory);
      refused({ memory: { swap: -1 } }, /memory\/swap: the memory controller is not enabled/, noMemory);
    });
  });

  describe('cpu', () => {
    it('maps shares, quota/period, burst, idle, cpus and mems', () => {
      assert.deepEqual(writes({ cpu: { shares: 1024, quota: 50000, period: 100000, burst: 10000, idle: 1, cpus: '0-1', mems: '0' } }), [
        ['cpu.weight', '100'],
        ['cpu.max.burst', '0'],
        ['cpu.max', '50000 100000'],
        ['cpu.max.burst', '10000'],
        ['cpu.idle', '1'],
        ['cpuset.cpus', '0-1'],
        ['cpuset.mems', '0'],
      ]);
    });
    it('converts the shares anchor points', () => {
      assert.deepEqual(writes({ cpu: { shares: 2 } }), [['cpu.weight', '1']]);
      assert.deepEqual(writes({ cpu: { shares: 262144 } }), [['cpu.weight', '10000']]);
    });
    it('writes "max" for no quota and the default period when none is given', () => {
      assert.deepEqual(writes({ cpu: { quota: -1 } }), [['cpu.max', 'max 100000']]);
      assert.deepEqual(writes({ cpu: { quota: 20000 } }), [['cpu.max', '20000 100000']]);
      assert.deepEqual(writes({ cpu: { period: 50000 } }), [['cpu.max', 'max 50000']]);
      assert.deepEqual(writes({ cpu: { quota: 0, period: 0, shares: 0 } }), []);
    });
    it('names quota or period as the field of cpu.max', () => {
      assert.equal(v2Writes({ cpu: { quota: 1000 } }, host())[0].field, '/linux/resources/cpu/quota');
      assert.equal(v2Writes({ cpu: { period: 1000 } }, host())[0].field, '/linux/resources/cpu/period');
    });
    it('writes burst alone without touching cpu.max', () => {
      assert.deepEqual(writes({ cpu: { burst: 500 } }), [['cpu.max.burst', '500']]);
    });
    it('refuses burst and idle on kernels without them, except their defaults', () => {
      const old = host({ without: ['cpu.max.burst', 'cpu.idle'] });
      refused({ cpu: { burst: 10 } }, /cpu\/burst: this kernel has no cpu.max.burst \(added in Linux 5.14\)/, old);
      refused({ cpu: { idle: 1 } }, /cpu\/idle: this kernel has no cpu.idle \(added in Linux 5.15\)/, old);
      assert.deepEqual(writes({ cpu: { burst: 0, idle: 0, quota: 1000 } }, old), [['cpu.max', '1000 100000']]);
    });
    it('refuses real-time settings unless the kernel has the files', () => {
      refused({ cpu: { realtimeRuntime: 950000 } }, /^config.json: \/linux\/resources\/cpu\/realtimeRuntime: cgroup v2 has no real-time group scheduling/);
      refused({ cpu: { realtimePeriod: 1000000 } }, /cpu\/realtimePeriod: cgroup v2 has no real-time group scheduling/);
      assert.deepEqual(writes({ cpu: { realtimeRuntime: 0, realtimePeriod: 0 } }), []);
      const rt = host({ with: ['cpu.rt_runtime_us', 'cpu.rt_period_us'] });
      assert.deepEqual(writes({ cpu: { realtimeRuntime: 950000, realtimePeriod: 1000000 } }, rt), [
        ['cpu.rt_period_us', '1000000'],
        ['cpu.rt_runtime_us', '950000'],
      ]);
    });
    it('names the controller that is not enabled, ignoring the core cpu.stat and pressure files', () => {
      const noCpu = host({ without: ['cpu.weight', 'cpu.weight.nice', 'cpu.max', 'cpu.max.burst', 'cpu.idle'] });
      refused({ cpu: { shares: 512 } }, /cpu\/shares: the cpu controller is not enabled for this cgroup \(no cpu.weight\)/, noCpu);
      refused({ cpu: { idle: 1 } }, /cpu\/idle: the cpu controller is not enabled/, noCpu);
      const noCpuset = host({ without: FULL.filter((f) => f.startsWith('cpuset.')) });
      refused({ cpu: { cpus: '0' } }, /cpu\/cpus: the cpuset controller is not enabled for this cgroup/, noCpuset);
      // cgroup.controllers, when given, is what decides.
      const listed = { ...host({ without: ['cpu.weight'] }), controllers: new Set(['memory']) };
      refused({ cpu: { shares: 512 } }, /the cpu controller is not enabled/, listed);
    });
  });

  describe('pids', () => {
    it('maps the limit, -1 to "max" and 0 to a real limit of 0', () => {
      assert.deepEqual(writes({ pids: { limit: 100 } }), [['pids.max', '100']]);
      assert.deepEqual(writes({ pids: { limit: -1 } }), [['pids.max', 'max']]);
      assert.deepEqual(writes({ pids: { limit: 0 } }), [['pids.max', '0']]);
      assert.deepEqual(writes({ pids: {} }), []);
    });
  });

  describe('blockIO', () => {
    it('uses BFQ when the host has it, io.weight with conversion otherwise', () => {
      assert.deepEqual(writes({ blockIO: { weight: 500 } }), [['io.bfq.weight', '500']]);
      assert.deepEqual(writes({ blockIO: { weight: 500 } }, host({ without: ['io.bfq.weight'] })), [['io.weight', '4950']]);
    });
    it('maps per-device weights to BFQ lines, or io.weight lines without per-device BFQ', () => {
      const wd = { blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 300 }] } };
      assert.deepEqual(writes(wd), [['io.bfq.weight', '8:0 300']]);
      assert.deepEqual(writes(wd, host({ bfqPerDevice: false })), [['io.weight', '8:0 2930']]);
      refused(wd, /blockIO\/weightDevice\/0\/weight: this kernel has neither per-device BFQ weights/, host({ bfqPerDevice: false, without: ['io.weight'] }));
    });
    it('maps the four throttles to io.max lines, one per write', () => {
      const b = {
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }, { major: 8, minor: 16, rate: 2000 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 3000 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 40 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 50 }],
      };
      assert.deepEqual(v2Writes({ blockIO: b }, host()), [
        { controller: '', file: 'io.max', value: '8:0 rbps=1000', field: '/linux/resources/blockIO/throttleReadBpsDevice/0' },
        { controller: '', file: 'io.max', value: '8:16 rbps=2000', field: '/linux/resources/blockIO/throttleReadBpsDevice/1' },
        { controller: '', file: 'io.max', value: '8:0 wbps=3000', field: '/linux/resources/blockIO/throttleWriteBpsDevice/0' },
        { controller: '', file: 'io.max', value: '8:0 riops=40', field: '/linux/resources/blockIO/throttleReadIOPSDevice/0' },
        { controller: '', file: 'io.max', value: '8:0 wiops=50', field: '/linux/resources/blockIO/throttleWriteIOPSDevice/0' },
      ]);
    });
    it('refuses leaf weights, which v2 does not have', () => {
      refused({ blockIO: { leafWeight: 10 } }, /^config.json: \/linux\/resources\/blockIO\/leafWeight: cgroup v2 has no leaf weight/);
      refused({ blockIO: { weightDevice: [{ major: 8, minor: 0, leafWeight: 10 }] } }, /blockIO\/weightDevice\/0\/leafWeight: cgroup v2 has no leaf weight/);
    });
    it('names the io controller when it is not enabled', () => {
      const noIo = host({ without: ['io.stat', 'io.max', 'io.weight', 'io.bfq.weight'] });
      refused({ blockIO: { weight: 100 } }, /blockIO\/weight: the io controller is not enabled for this cgroup/, noIo);
      refused({ blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] } }, /throttleReadBpsDevice\/0: the io controller is not enabled/, noIo);
    });
  });

  describe('hugepageLimits', () => {
    it('writes .max and, where the kernel has reservations, .rsvd.max', () => {
      assert.deepEqual(writes({ hugepageLimits: [{ pageSize: '2MB', limit: 209715200 }] }), [
        ['hugetlb.2MB.max', '209715200'],
        ['hugetlb.2MB.rsvd.max', '209715200'],
      ]);
      const noRsvd = host({ without: ['hugetlb.1GB.rsvd.max'] });
      assert.deepEqual(writes({ hugepageLimits: [{ pageSize: '1GB', limit: 1 << 30 }] }, noRsvd), [['hugetlb.1GB.max', String(1 << 30)]]);
    });
    it('refuses sizes the host lacks and names that look like paths', () => {
      refused({ hugepageLimits: [{ pageSize: '64KB', limit: 1 }] }, /hugepageLimits\/0\/pageSize: this host has no 64KB huge pages/);
      refused({ hugepageLimits: [{ pageSize: '../x', limit: 1 }] }, /hugepageLimits\/0\/pageSize: "..\/x" is not a huge page size/);
      const noHugetlb = host({ without: FULL.filter((f) => f.startsWith('hugetlb.')) });
      refused({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, /hugepageLimits\/0\/limit: the hugetlb controller is not enabled/, noHugetlb);
    });
  });

  describe('network', () => {
    it('refuses classID and priorities, which only v1 has, unless empty', () => {
      refused({ network: { classID: 1048577 } }, /^config.json: \/linux\/resources\/network\/classID: cgroup v2 has no net_cls controller/);
      refused({ network: { priorities: [{ name: 'eth0', priority: 5 }] } }, /network\/priorities: cgroup v2 has no net_prio controller/);
      assert.deepEqual(writes({ network: { classID: 0, priorities: [] } }), []);
    });
  });

  describe('rdma', () => {
    it('writes one rdma.max line per device with the limits given', () => {
      assert.deepEqual(writes({ rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, mlx4_0: { hcaObjects: 1000 } } }), [
        ['rdma.max', 'mlx5_1 hca_handle=3 hca_object=10000'],
        ['rdma.max', 'mlx4_0 hca_object=1000'],
      ]);
      refused({ rdma: { mlx5_1: {} } }, /rdma\/mlx5_1: needs hcaHandles or hcaObjects/);
      refused({ rdma: { 'a b': { hcaHandles: 1 } } }, /rdma\/a b: "a b" is not an RDMA device name/);
    });
  });

  describe('unified', () => {
    it('writes keys verbatim, last, a line at a time', () => {
      assert.deepEqual(
        writes({ pids: { limit: 10 }, unified: { 'pids.max': '20', 'io.max': '259:0 rbps=2097152 wiops=120\n253:0 rbps=2097152 wiops=120\n', 'memory.oom.group': '1' } }),
        [
          ['pids.max', '10'],
          ['pids.max', '20'],
          ['io.max', '259:0 rbps=2097152 wiops=120'],
          ['io.max', '253:0 rbps=2097152 wiops=120'],
          ['memory.oom.group', '1'],
        ],
      );
    });
    it('refuses keys that leave the directory or are not interface files', () => {
      for (const key of ['../memory.max', 'a/b', '..', '.', '']) refused({ unified: { [key]: '1' } }, /must be a file name in the cgroup directory/);
      refused({ unified: { nodots: '1' } }, /unified\/nodots: "nodots" is not a cgroup interface file name/);
      // The field pointer escapes "/" as the JSON pointer syntax wants.
      refused({ unified: { 'a/b': '1' } }, /\/linux\/resources\/unified\/a~1b:/);
    });
    it('refuses files of controllers that are not enabled, or that do not exist', () => {
      refused({ unified: { 'misc.max': 'res_a 1' } }, /unified\/misc.max: the misc controller is not enabled for this cgroup/);
      refused({ unified: { 'memory.nosuch': '1' } }, /unified\/memory.nosuch: this host's cgroup v2 has no memory.nosuch/);
      refused({ unified: { 'cgroup.nosuch': '1' } }, /this host's cgroup v2 has no cgroup.nosuch/);
    });
  });

  it('orders memory, cpu, pids, io, hugetlb, rdma, then unified', () => {
    const files = writes({
      unified: { 'cgroup.freeze': '0' },
      rdma: { d: { hcaHandles: 1 } },
      hugepageLimits: [{ pageSize: '2MB', limit: 2 << 20 }],
      blockIO: { weight: 100 },
      pids: { limit: 3 },
      cpu: { shares: 100 },
      memory: { limit: 1 << 20 },
    }).map(([file]) => file);
    assert.deepEqual(files, ['memory.max', 'cpu.weight', 'pids.max', 'io.bfq.weight', 'hugetlb.2MB.max', 'hugetlb.2MB.rsvd.max', 'rdma.max', 'cgroup.freeze']);
  });

});

describe('cgroup v2 stats', () => {
  const files: Record<string, string> = {
    'cpu.stat': 'usage_usec 2500\nuser_usec 1500\nsystem_usec 1000\nnr_periods 10\nnr_throttled 3\nthrottled_usec 700\nnr_bursts 0\nburst_usec 0\n',
    'memory.current': '1048576\n',
    'memory.max': '4194304\n',
    'memory.peak': '2097152\n',
    'memory.events': 'low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n',
    'memory.swap.current': '4096\n',
    'memory.swap.max': 'max\n',
    'memory.swap.events': 'high 0\nmax 2\nfail 0\n',
    'memory.stat': 'anon 409600\nfile 638976\nkernel 65536\npgfault 1234\n',
    'pids.current': '3\n',
    'pids.max': 'max\n',
    'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=10 wbytes=20 rios=3 wios=4 dbytes=0 dios=0\n',
    'hugetlb.2MB.current': '0\n',
    'hugetlb.2MB.rsvd.current': '2097152\n',
    'hugetlb.2MB.max': 'max\n',
    'hugetlb.2MB.events': 'max 4\n',
    'hugetlb.1GB.current': '0\n',
    'hugetlb.1GB.max': '0\n',
    'hugetlb.1GB.events': 'max 0\n',
  };

  it('reads cpu.stat in nanoseconds, as runc reports', () => {
    const s = parseV2Stats(files);
    assert.deepEqual(s.cpu, { usage: { total: 2_500_000, user: 1_500_000, kernel: 1_000_000 }, throttling: { periods: 10, throttledPeriods: 3, throttledTime: 700_000 } });
  });

  it('reads memory usage, limit, peak, failures, swap as memory+swap, and memory.stat', () => {
    const s = parseV2Stats(files);
    assert.deepEqual(s.memory.usage, { usage: 1048576, limit: 4194304, max: 2097152, failcnt: 7 });
    assert.deepEqual(s.memory.swap, { usage: 1048576 + 4096, limit: UNLIMITED, max: 0, failcnt: 2 });
    assert.deepEqual(s.memory.raw, { anon: 409600, file: 638976, kernel: 65536, pgfault: 1234 });
    const limited = parseV2Stats({ ...files, 'memory.swap.max': '1000\n' });
    assert.equal(limited.memory.swap?.limit, 4194304 + 1000);
    assert.equal(parseV2Stats({ ...files, 'memory.max': 'max\n' }).memory.usage.limit, UNLIMITED);
  });

  it('reports no pids limit as 0 and a limit as itself', () => {
    assert.deepEqual(parseV2Stats(files).pids, { current: 3, limit: 0 });
    assert.deepEqual(parseV2Stats({ ...files, 'pids.max': '64\n' }).pids, { current: 3, limit: 64 });
  });

  it('splits io.stat into bytes and operations per device', () => {
    const s = parseV2Stats(files);
    assert.deepEqual(s.blkio.ioServiceBytesRecursive, [
      { major: 8, minor: 0, op: 'Read', value: 4096 },
      { major: 8, minor: 0, op: 'Write', value: 8192 },
      { major: 259, minor: 0, op: 'Read', value: 10 },
      { major: 259, minor: 0, op: 'Write', value: 20 },
    ]);
    assert.deepEqual(s.blkio.ioServicedRecursive, [
      { major: 8, minor: 0, op: 'Read', value: 1 },
      { major: 8, minor: 0, op: 'Write', value: 2 },
      { major: 259, minor: 0, op: 'Read', value: 3 },
      { major: 259, minor: 0, op: 'Write', value: 4 },
    ]);
  });

  it('reads hugetlb usage (reservations first) and failures per page size', () => {
    assert.deepEqual(parseV2Stats(files).hugetlb, { '2MB': { usage: 2097152, max: 0, failcnt: 4 }, '1GB': { usage: 0, max: 0, failcnt: 0 } });
  });

  it('gives zeros, not errors, for files the caller could not read', () => {
    const s = parseV2Stats({});
    assert.deepEqual(s.cpu.usage, { total: 0, user: 0, kernel: 0 });
    assert.deepEqual(s.pids, { current: 0, limit: 0 });
    assert.equal(s.memory.swap, undefined);
    assert.deepEqual(s.hugetlb, {});
    assert.deepEqual(s.blkio, { ioServiceBytesRecursive: [], ioServicedRecursive: [] });
  });
});

// cpu.max and io.bfq.weight each hold values of more than one field: an
// update naming one must keep the others as they stand in the cgroup.
describe('cgroup v2 updates keep what shares a file', () => {
  it('a quota alone keeps the period in force, a period alone the quota', () => {
    const facts = { ...host(), cpuMax: { quota: '20000', period: '50000' } };
    assert.deepEqual(writes({ cpu: { quota: 30000 } }, facts), [['cpu.max', '30000 50000']]);
    assert.deepEqual(writes({ cpu: { period: 200000 } }, facts), [['cpu.max', '20000 200000']]);
    assert.deepEqual(writes({ cpu: { quota: -1 } }, facts), [['cpu.max', 'max 50000']]);
    // A new cgroup (no facts read): the kernel's default period.
    assert.deepEqual(writes({ cpu: { quota: 30000 } }), [['cpu.max', '30000 100000']]);
  });

  it('a BFQ default weight is followed by the per-device weights the kernel resets, unless the update names that device', () => {
    const facts = { ...host(), bfqDeviceWeights: ['253:0 300', '8:0 700'] };
    assert.deepEqual(writes({ blockIO: { weight: 200 } }, facts), [
      ['io.bfq.weight', '200'],
      ['io.bfq.weight', '253:0 300'],
      ['io.bfq.weight', '8:0 700'],
    ]);
    assert.deepEqual(writes({ blockIO: { weight: 200, weightDevice: [{ major: 8, minor: 0, weight: 100 }] } }, facts), [
      ['io.bfq.weight', '200'],
      ['io.bfq.weight', '253:0 300'],
      ['io.bfq.weight', '8:0 100'],
    ]);
  });
});
