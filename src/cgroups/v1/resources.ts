// linux.resources -> cgroup v1 file writes. Pure: what the host has is passed
// in, so every mapping and refusal is unit-tested without a cgroup.
import type { LinuxBlockIO, LinuxCPU, LinuxMemory, LinuxResources } from '../../spec/types';
import { configError } from '../../errors';
import type { CgroupWrite } from '../types';

export interface V1HostFacts {
  /** Controllers mounted on this host. */
  controllers: Set<string>;
  /** Whether `file` exists in the controller's directory (e.g. memory.memsw.limit_in_bytes). */
  hasFile(controller: string, file: string): boolean;
}

type Emit = (controller: string, file: string, value: string | number, field: string) => void;

export function v1Writes(resources: LinuxResources, host: V1HostFacts, deviceWrites: (r: LinuxResources) => CgroupWrite[] = () => []): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  const emit: Emit = (controller, file, value, field) => {
    if (!host.controllers.has(controller)) {
      throw configError(field, `the ${controller} cgroup controller is not available on this host`);
    }
    if (!host.hasFile(controller, file)) {
      throw configError(field, `this host's ${controller} controller has no ${file}`);
    }
    writes.push({ controller, file, value: String(value), field });
  };
  if (resources.unified && Object.keys(resources.unified).length > 0) {
    throw configError('/linux/resources/unified', 'needs cgroup v2, and this host uses cgroup v1');
  }
  // Device rules apply even when the config has none: the container then gets
  // only the default devices, as with runc.
  if (resources.devices?.length || host.controllers.has('devices')) writes.push(...deviceWrites(resources));
  if (resources.memory) memoryWrites(resources.memory, host, emit);
  if (resources.cpu) cpuWrites(resources.cpu, emit);
  if (resources.pids?.limit !== undefined) {
    // -1 (any negative) is "no limit"; 0 is a real limit (config-linux.md: "0 is a valid limit value"), as on v2.
    emit('pids', 'pids.max', resources.pids.limit >= 0 ? resources.pids.limit : 'max', '/linux/resources/pids/limit');
  }
  if (resources.blockIO) blockIOWrites(resources.blockIO, host, emit);
  for (const [i, h] of (resources.hugepageLimits ?? []).entries()) {
    emit('hugetlb', `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit, `/linux/resources/hugepageLimits/${i}`);
  }
  if (resources.network?.classID !== undefined) emit('net_cls', 'net_cls.classid', resources.network.classID, '/linux/resources/network/classID');
  for (const [i, p] of (resources.network?.priorities ?? []).entries()) {
    emit('net_prio', 'net_prio.ifpriomap', `${p.name} ${p.priority}`, `/linux/resources/network/priorities/${i}`);
  }
  for (const [device, limit] of Object.entries(resources.rdma ?? {})) {
    const parts = [limit.hcaHandles !== undefined ? `hca_handle=${limit.hcaHandles}` : '', limit.hcaObjects !== undefined ? `hca_object=${limit.hcaObjects}` : ''];
    emit('rdma', 'rdma.max', `${device} ${parts.filter(Boolean).join(' ')}`, `/linux/resources/rdma/${device}`);
  }
  return writes;
}

function memoryWrites(m: LinuxMemory, host: V1HostFacts, emit: Emit): void {
  const f = '/linux/resources/memory';
  if (m.limit !== undefined && m.limit !== 0) emit('memory', 'memory.limit_in_bytes', m.limit, `${f}/limit`);
  // An unlimited memory limit with swap left out lifts memory+swap too, as
  // runc does: the kernel refuses a memory limit above memory+swap's.
  if (m.limit === -1 && m.swap === undefined && host.hasFile('memory', 'memory.memsw.limit_in_bytes')) {
    emit('memory', 'memory.memsw.limit_in_bytes', -1, `${f}/limit`);
  }
  if (m.swap !== undefined && m.swap !== 0) {
    if (host.controllers.has('memory') && !host.hasFile('memory', 'memory.memsw.limit_in_bytes')) {
      throw configError(`${f}/swap`, 'swap accounting is not enabled on this host (no memory.memsw.limit_in_bytes)');
    }
    emit('memory', 'memory.memsw.limit_in_bytes', m.swap, `${f}/swap`);
  }
  if (m.reservation !== undefined && m.reservation !== 0) emit('memory', 'memory.soft_limit_in_bytes', m.reservation, `${f}/reservation`);
  if (m.kernel !== undefined && m.kernel !== 0) emit('memory', 'memory.kmem.limit_in_bytes', m.kernel, `${f}/kernel`);
  if (m.kernelTCP !== undefined && m.kernelTCP !== 0) emit('memory', 'memory.kmem.tcp.limit_in_bytes', m.kernelTCP, `${f}/kernelTCP`);
  if (m.swappiness !== undefined) emit('memory', 'memory.swappiness', m.swappiness, `${f}/swappiness`);
  if (m.disableOOMKiller !== undefined) emit('memory', 'memory.oom_control', m.disableOOMKiller ? 1 : 0, `${f}/disableOOMKiller`);
  if (m.useHierarchy !== undefined) emit('memory', 'memory.use_hierarchy', m.useHierarchy ? 1 : 0, `${f}/useHierarchy`);
}

function cpuWrites(c: LinuxCPU, emit: Emit): void {
  const f = '/linux/resources/cpu';
  if (c.shares !== undefined && c.shares !== 0) emit('cpu', 'cpu.shares', c.shares, `${f}/shares`);
  // The period first: a quota is checked against the period in force.
  if (c.period !== undefined && c.period !== 0) emit('cpu', 'cpu.cfs_period_us', c.period, `${f}/period`);
  if (c.quota !== undefined && c.quota !== 0) emit('cpu', 'cpu.cfs_quota_us', c.quota, `${f}/quota`);
  if (c.burst !== undefined) emit('cpu', 'cpu.cfs_burst_us', c.burst, `${f}/burst`);
  if (c.realtimePeriod !== undefined && c.realtimePeriod !== 0) emit('cpu', 'cpu.rt_period_us', c.realtimePeriod, `${f}/realtimePeriod`);
  if (c.realtimeRuntime !== undefined && c.realtimeRuntime !== 0) emit('cpu', 'cpu.rt_runtime_us', c.realtimeRuntime, `${f}/realtimeRuntime`);
  if (c.idle !== undefined) emit('cpu', 'cpu.idle', c.idle, `${f}/idle`);
  if (c.cpus) emit('cpuset', 'cpuset.cpus', c.cpus, `${f}/cpus`);
  if (c.mems) emit('cpuset', 'cpuset.mems', c.mems, `${f}/mems`);
}

function blockIOWrites(b: LinuxBlockIO, host: V1HostFacts, emit: Emit): void {
  const f = '/linux/resources/blockIO';
  // Kernels with BFQ name the weight files blkio.bfq.*; older CFQ ones blkio.*.
  const weightFile = host.hasFile('blkio', 'blkio.weight') ? 'blkio.weight' : 'blkio.bfq.weight';
  const deviceWeightFile = host.hasFile('blkio', 'blkio.weight_device') ? 'blkio.weight_device' : 'blkio.bfq.weight_device';
  if (b.weight !== undefined && b.weight !== 0) emit('blkio', weightFile, b.weight, `${f}/weight`);
  if (b.leafWeight !== undefined && b.leafWeight !== 0) emit('blkio', 'blkio.leaf_weight', b.leafWeight, `${f}/leafWeight`);
  for (const [i, d] of (b.weightDevice ?? []).entries()) {
    if (d.weight !== undefined) emit('blkio', deviceWeightFile, `${d.major}:${d.minor} ${d.weight}`, `${f}/weightDevice/${i}/weight`);
    if (d.leafWeight !== undefined) emit('blkio', 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, `${f}/weightDevice/${i}/leafWeight`);
  }
  const throttles = [
    ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
  ] as const;
  for (const [key, file] of throttles) {
    for (const [i, d] of (b[key] ?? []).entries()) emit('blkio', file, `${d.major}:${d.minor} ${d.rate}`, `${f}/${key}/${i}`);
  }
}
