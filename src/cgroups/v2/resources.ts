// linux.resources -> cgroup v2 file writes (one directory, controller '').
// Pure: what the host's cgroup offers comes in as V2HostFacts, so every
// mapping and refusal is unit-tested without a cgroup. Devices are not here:
// on v2 they are an eBPF program (../devices/ebpf.ts), not a file.
//
// The spec fields were written for v1. config-linux.md ("Unified"): when a
// v2 controller is used for a v1-style value the runtime MAY convert it and
// MUST generate an error when it cannot. So each field is converted where v2
// has an equivalent, accepted without a write where the value asks for what
// v2 does anyway, and refused (ConfigError naming the field) otherwise. runc
// silently drops several of the refused ones; crun refuses them too.
import type { LinuxBlockIO, LinuxCPU, LinuxMemory, LinuxNetwork, LinuxResources } from '../../spec/types';
import { configError } from '../../errors';
import type { CgroupWrite } from '../types';
import { blkioWeightToIoWeight, memorySwapToV2, sharesToCpuWeight } from './convert';

export { blkioWeightToIoWeight, memorySwapToV2, sharesToCpuWeight } from './convert';

export interface V2HostFacts {
  /**
   * Names of the interface files in the container's cgroup directory. A
   * controller's files are there only when the parent enables it in
   * cgroup.subtree_control, so this also says which controllers are usable
   * (and which optional files this kernel has: cpu.idle, memory.swap.max...).
   */
  files: ReadonlySet<string>;
  /**
   * io.bfq.weight reads "default N" plus per-device lines (Linux 5.4+)
   * rather than a bare number, so BFQ takes "MAJ:MIN W" lines.
   */
  bfqPerDevice?: boolean;
  /**
   * The directory's cgroup.controllers: the controllers its parent enables.
   * Used to say "controller X is not enabled" rather than "no file"; when
   * absent it is inferred from the files.
   */
  controllers?: ReadonlySet<string>;
  /** memory.current and memory.swap.current, for memory.checkBeforeUpdate (skipped without them). */
  usage?: { memory: number; swap: number };
  /**
   * cpu.max as it stands ("max 100000"): cpu.max takes quota and period in
   * one write, so an update naming one keeps the other (fields left out
   * keep their values).
   */
  cpuMax?: { quota: string; period: string };
  /**
   * io.bfq.weight's per-device lines as they stand ("253:0 300"): writing
   * the default weight resets them in the kernel, so they are written again
   * after it unless the same update sets that device.
   */
  bfqDeviceWeights?: string[];
}

const R = '/linux/resources';

function refuse(field: string, detail: string): never {
  throw configError(field, detail);
}

/** Collects writes, refusing a file this cgroup lacks with the controller named. */
class Writes {
  readonly list: CgroupWrite[] = [];
  constructor(readonly host: V2HostFacts) {}

  has(file: string): boolean {
    return this.host.files.has(file);
  }

  /** Throws, naming `field`, unless the cgroup has `file`. */
  need(file: string, field: string): void {
    if (!this.has(file)) refuse(field, missing(file, this.host));
  }

  add(file: string, value: string | number, field: string): void {
    this.need(file, field);
    this.list.push({ controller: '', file, value: String(value), field });
  }
}

/** Files every cgroup v2 directory has whether or not their controller is enabled. */
const CORE_FILES = new Set(['cpu.stat', 'cpu.stat.local', 'cpu.pressure', 'memory.pressure', 'io.pressure', 'irq.pressure']);

function controllerEnabled(controller: string, host: V2HostFacts): boolean {
  if (host.controllers) return host.controllers.has(controller);
  return [...host.files].some((f) => f.startsWith(`${controller}.`) && !CORE_FILES.has(f));
}

function missing(file: string, host: V2HostFacts): string {
  const controller = file.slice(0, file.indexOf('.'));
  if (controller !== 'cgroup' && !controllerEnabled(controller, host)) return `the ${controller} controller is not enabled for this cgroup (no ${file})`;
  return `this host's cgroup v2 has no ${file}`;
}

export function v2Writes(resources: LinuxResources, host: V2HostFacts): CgroupWrite[] {
  const w = new Writes(host);
  if (resources.memory) memory(resources.memory, w);
  if (resources.cpu) cpu(resources.cpu, w);
  if (resources.pids?.limit !== undefined) {
    // -1 (any negative) is "no limit"; 0 is a real limit (config-linux.md: "0 is a valid limit value").
    const limit = resources.pids.limit;
    w.add('pids.max', limit < 0 ? 'max' : limit, `${R}/pids/limit`);
  }
  if (resources.blockIO) blockIO(resources.blockIO, w);
  hugepages(resources, w);
  if (resources.network) network(resources.network);
  rdma(resources, w);
  // Last, so a unified value wins over the same file set from a typed field.
  unified(resources, w);
  return w.list;
}

/** Limits in bytes: -1 is "max", 0 and unset write nothing (as runc and crun). */
function byteLimit(value: number | undefined, field: string): string | undefined {
  if (value === undefined || value === 0) return undefined;
  if (value === -1) return 'max';
  if (value < 0 || !Number.isInteger(value)) refuse(field, `${value} is not a byte count (use -1 for unlimited)`);
  return String(value);
}

function memory(m: LinuxMemory, w: Writes): void {
  const f = `${R}/memory`;
  checkBeforeUpdate(m, w.host);
  const limit = byteLimit(m.limit, `${f}/limit`);
  if (limit !== undefined) w.add('memory.max', limit, `${f}/limit`);
  const swap = memorySwapToV2(m.swap, m.limit);
  if (swap !== undefined) {
    if (w.has('memory.swap.max')) w.add('memory.swap.max', swap, `${f}/swap`);
    else if (!controllerEnabled('memory', w.host)) w.need('memory.swap.max', `${f}/swap`);
    // Without swap accounting (swapaccount=0, no CONFIG_MEMCG_SWAP) "no swap
    // limit" holds already, and runc and crun carry on for "0" too rather than
    // fail every `--memory X --memory-swap X` there. A real number cannot be kept.
    else if (swap !== 'max' && swap !== '0') refuse(`${f}/swap`, 'swap accounting is not enabled on this host (no memory.swap.max)');
  }
  const low = byteLimit(m.reservation, `${f}/reservation`);
  if (low !== undefined) w.add('memory.low', low, `${f}/reservation`);
  // v2 charges kernel and TCP buffer memory to memory.max; there is no
  // separate limit. "Unlimited" is what v2 does, anything else cannot be kept.
  for (const key of ['kernel', 'kernelTCP'] as const) {
    const v = m[key];
    if (v !== undefined && v !== 0 && v !== -1) {
      refuse(`${f}/${key}`, 'cgroup v2 has no separate kernel memory limit (kernel memory counts in memory.max); leave it unset or -1');
    }
  }
  if (m.swappiness !== undefined) {
    refuse(`${f}/swappiness`, "cgroup v2 has no per-cgroup swappiness (the host's vm.swappiness applies); leave it unset");
  }
  if (m.disableOOMKiller === true) refuse(`${f}/disableOOMKiller`, 'cgroup v2 cannot turn the OOM killer off for a cgroup');
  if (m.useHierarchy === false) refuse(`${f}/useHierarchy`, 'cgroup v2 memory accounting is always hierarchical');
}

/** checkBeforeUpdate: a new limit at or under current usage is refused rather than set off the OOM killer. */
function checkBeforeUpdate(m: LinuxMemory, host: V2HostFacts): void {
  if (m.checkBeforeUpdate !== true || host.usage === undefined) return;
  const f = `${R}/memory`;
  const { memory: used, swap } = host.usage;
  if (m.limit !== undefined && m.limit > 0 && m.limit <= used) refuse(`${f}/limit`, `${m.limit} is not above the current usage of ${used} bytes`);
  if (m.swap !== undefined && m.swap > 0 && m.swap <= used + swap) {
    refuse(`${f}/swap`, `${m.swap} is not above the current memory+swap usage of ${used + swap} bytes`);
  }
}

function cpu(c: LinuxCPU, w: Writes): void {
  const f = `${R}/cpu`;
  if (c.shares !== undefined && c.shares !== 0) w.add('cpu.weight', sharesToCpuWeight(c.shares), `${f}/shares`);
  const quotaSet = c.quota !== undefined && c.quota !== 0;
  const periodSet = c.period !== undefined && c.period !== 0;
  if (quotaSet || periodSet) {
    // The kernel checks burst <= quota on every write of either file: zero
    // the burst first so a lower quota is never refused for the old burst,
    // then set the new burst after the new quota.
    if (c.burst !== undefined && w.has('cpu.max.burst')) w.add('cpu.max.burst', 0, `${f}/burst`);
    // Quota -1 (or any negative) is "no limit". cpu.max takes both at once:
    // the one left out keeps its value (a new cgroup's is "max 100000", the
    // kernel's default period: Documentation/admin-guide/cgroup-v2.rst).
    const current = w.host.cpuMax ?? { quota: 'max', period: '100000' };
    const quota = quotaSet ? ((c.quota as number) > 0 ? String(c.quota) : 'max') : current.quota;
    w.add('cpu.max', `${quota} ${periodSet ? c.period : current.period}`, quotaSet ? `${f}/quota` : `${f}/period`);
  }
  if (c.burst !== undefined) {
    if (w.has('cpu.max.burst')) w.add('cpu.max.burst', c.burst, `${f}/burst`);
    else if (c.burst !== 0) newerCpuFile(w, 'cpu.max.burst', `${f}/burst`, 'Linux 5.14');
  }
  if (c.idle !== undefined) {
    // 0 is the kernel's default, so a kernel without cpu.idle already does it.
    if (w.has('cpu.idle')) w.add('cpu.idle', c.idle, `${f}/idle`);
    else if (c.idle !== 0) newerCpuFile(w, 'cpu.idle', `${f}/idle`, 'Linux 5.15');
  }
  realtime(c, w);
  if (c.cpus) w.add('cpuset.cpus', c.cpus, `${f}/cpus`);
  if (c.mems) w.add('cpuset.mems', c.mems, `${f}/mems`);
}

/** A cpu file newer kernels add: name the version when the controller itself is there. */
function newerCpuFile(w: Writes, file: string, field: string, since: string): never {
  if (controllerEnabled('cpu', w.host)) refuse(field, `this kernel has no ${file} (added in ${since})`);
  return refuse(field, missing(file, w.host));
}

/**
 * Real-time group scheduling (CONFIG_RT_GROUP_SCHED) has no cgroup v2
 * interface in mainline kernels; if a kernel offers the v1-named files in
 * the v2 directory they are used, else the values cannot be honoured.
 */
function realtime(c: LinuxCPU, w: Writes): void {
  const f = `${R}/cpu`;
  const fields = [
    ['realtimePeriod', 'cpu.rt_period_us', c.realtimePeriod],
    ['realtimeRuntime', 'cpu.rt_runtime_us', c.realtimeRuntime],
  ] as const;
  for (const [name, file, value] of fields) {
    if (value === undefined || value === 0) continue;
    if (!w.has(file)) refuse(`${f}/${name}`, 'cgroup v2 has no real-time group scheduling on this kernel (no cpu.rt_runtime_us); leave it unset');
    w.add(file, value, `${f}/${name}`);
  }
}

function blockIO(b: LinuxBlockIO, w: Writes): void {
  const f = `${R}/blockIO`;
  // BFQ's io.bfq.weight takes the v1 scale as is; otherwise io.weight (the
  // iocost controller) on its own scale. Both runc and crun prefer BFQ.
  if (b.weight !== undefined && b.weight !== 0) {
    if (w.has('io.bfq.weight')) {
      w.add('io.bfq.weight', b.weight, `${f}/weight`);
      const named = new Set((b.weightDevice ?? []).map((d) => `${d.major}:${d.minor}`));
      for (const line of w.host.bfqDeviceWeights ?? []) {
        if (!named.has(line.split(' ')[0])) w.add('io.bfq.weight', line, `${f}/weight`);
      }
    } else w.add('io.weight', blkioWeightToIoWeight(b.weight), `${f}/weight`);
  }
  if (b.leafWeight !== undefined && b.leafWeight !== 0) refuse(`${f}/leafWeight`, 'cgroup v2 has no leaf weight (it was CFQ-only)');
  for (const [i, d] of (b.weightDevice ?? []).entries()) {
    const df = `${f}/weightDevice/${i}`;
    if (d.weight !== undefined && d.weight !== 0) {
      if (w.has('io.bfq.weight') && w.host.bfqPerDevice === true) w.add('io.bfq.weight', `${d.major}:${d.minor} ${d.weight}`, `${df}/weight`);
      else if (w.has('io.weight')) w.add('io.weight', `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`, `${df}/weight`);
      else if (w.has('io.bfq.weight')) refuse(`${df}/weight`, 'this kernel has neither per-device BFQ weights (Linux 5.4+) nor io.weight');
      else w.need('io.weight', `${df}/weight`);
    }
    if (d.leafWeight !== undefined && d.leafWeight !== 0) refuse(`${df}/leafWeight`, 'cgroup v2 has no leaf weight (it was CFQ-only)');
  }
  // io.max takes one "MAJ:MIN key=value" line per write; a device's other keys are kept.
  const throttles = [
    ['throttleReadBpsDevice', 'rbps'],
    ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'],
    ['throttleWriteIOPSDevice', 'wiops'],
  ] as const;
  for (const [key, name] of throttles) {
    for (const [i, d] of (b[key] ?? []).entries()) w.add('io.max', `${d.major}:${d.minor} ${name}=${d.rate}`, `${f}/${key}/${i}`);
  }
}

function hugepages(resources: LinuxResources, w: Writes): void {
  for (const [i, h] of (resources.hugepageLimits ?? []).entries()) {
    const f = `${R}/hugepageLimits/${i}`;
    // The size becomes part of a file name: keep it to the kernel's form.
    if (!/^[0-9]+[KMGT]B$/.test(h.pageSize)) refuse(`${f}/pageSize`, `${JSON.stringify(h.pageSize)} is not a huge page size like 2MB or 1GB`);
    const max = `hugetlb.${h.pageSize}.max`;
    if (!w.has(max) && controllerEnabled('hugetlb', w.host)) {
      refuse(`${f}/pageSize`, `this host has no ${h.pageSize} huge pages (no ${max})`);
    }
    w.add(max, h.limit, `${f}/limit`);
    // The spec asks for reservation limits where the kernel has them (5.7+),
    // page-fault limits otherwise; runc sets both, so a fault can't exceed it either.
    const rsvd = `hugetlb.${h.pageSize}.rsvd.max`;
    if (w.has(rsvd)) w.add(rsvd, h.limit, `${f}/limit`);
  }
}

/** net_cls and net_prio are v1 only; v2 leaves packet tagging to eBPF/nftables by cgroup path. */
function network(n: LinuxNetwork): void {
  const f = `${R}/network`;
  if (n.classID !== undefined && n.classID !== 0) refuse(`${f}/classID`, 'cgroup v2 has no net_cls controller; match the cgroup path in nftables instead');
  if (n.priorities !== undefined && n.priorities.length > 0) refuse(`${f}/priorities`, 'cgroup v2 has no net_prio controller');
}

function rdma(resources: LinuxResources, w: Writes): void {
  for (const [device, limit] of Object.entries(resources.rdma ?? {})) {
    const f = `${R}/rdma/${pointerEscape(device)}`;
    if (!/^[^\s]+$/.test(device)) refuse(f, `${JSON.stringify(device)} is not an RDMA device name`);
    const parts: string[] = [];
    if (limit.hcaHandles !== undefined) parts.push(`hca_handle=${limit.hcaHandles}`);
    if (limit.hcaObjects !== undefined) parts.push(`hca_object=${limit.hcaObjects}`);
    if (parts.length === 0) refuse(f, 'needs hcaHandles or hcaObjects');
    w.add('rdma.max', `${device} ${parts.join(' ')}`, f);
  }
}

/**
 * unified: file name -> value, written as given. A name must stay in the
 * cgroup directory. A multi-line value is written a line at a time, since
 * files like io.max take one line per write (as runc and crun do).
 */
function unified(resources: LinuxResources, w: Writes): void {
  for (const [key, value] of Object.entries(resources.unified ?? {})) {
    const f = `${R}/unified/${pointerEscape(key)}`;
    if (key === '' || key === '.' || key === '..' || key.includes('/') || key.includes('\0')) {
      refuse(f, `${JSON.stringify(key)} must be a file name in the cgroup directory`);
    }
    if (!key.includes('.')) refuse(f, `${JSON.stringify(key)} is not a cgroup interface file name (CONTROLLER.NAME)`);
    for (const line of value.split('\n')) {
      if (line.trim() !== '') w.add(key, line, f);
    }
  }
}

function pointerEscape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

