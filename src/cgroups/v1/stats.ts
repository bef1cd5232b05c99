// cgroup v1 statistics in runc's field names (`events --stats`).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { BlkioEntry, CgroupStats, MemoryEntry } from '../types';

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function num(path: string): number {
  const n = Number(read(path).trim());
  return Number.isFinite(n) ? n : 0;
}

export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out[key] = Number(value);
  }
  return out;
}

function memoryEntry(dir: string, prefix: string): MemoryEntry {
  return {
    limit: num(`${dir}/${prefix}.limit_in_bytes`),
    usage: num(`${dir}/${prefix}.usage_in_bytes`),
    max: num(`${dir}/${prefix}.max_usage_in_bytes`),
    failcnt: num(`${dir}/${prefix}.failcnt`),
  };
}

/** "8:0 Read 4096" lines; the "Total" line is dropped. */
export function parseBlkio(text: string): BlkioEntry[] {
  const entries: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):(\d+) (\S+) (\d+)$/.exec(line.trim());
    if (m) entries.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return entries;
}

const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

export function readV1Stats(paths: Record<string, string>): CgroupStats {
  const cpuacct = paths.cpuacct ?? '';
  const cpu = paths.cpu ?? '';
  const memory = paths.memory ?? '';
  const ticks = parseKeyValues(read(`${cpuacct}/cpuacct.stat`));
  const cpuStat = parseKeyValues(read(`${cpu}/cpu.stat`));
  const percpu = read(`${cpuacct}/cpuacct.usage_percpu`).trim().split(/\s+/).filter(Boolean).map(Number);
  const blkio = paths.blkio ?? '';
  const throttled = existsSync(`${blkio}/blkio.throttle.io_service_bytes_recursive`);
  const hugetlb: CgroupStats['hugetlb'] = {};
  if (paths.hugetlb) {
    for (const name of readdirSync(paths.hugetlb)) {
      const m = /^hugetlb\.([^.]+)\.usage_in_bytes$/.exec(name);
      if (!m) continue;
      const base = `${paths.hugetlb}/hugetlb.${m[1]}`;
      hugetlb[m[1]] = { usage: num(`${base}.usage_in_bytes`), max: num(`${base}.max_usage_in_bytes`), failcnt: num(`${base}.failcnt`) };
    }
  }
  const pidsMax = read(`${paths.pids ?? ''}/pids.max`).trim();
  return {
    cpu: {
      usage: { total: num(`${cpuacct}/cpuacct.usage`), user: (ticks.user ?? 0) * NS_PER_TICK, kernel: (ticks.system ?? 0) * NS_PER_TICK, percpu },
      throttling: { periods: cpuStat.nr_periods ?? 0, throttledPeriods: cpuStat.nr_throttled ?? 0, throttledTime: cpuStat.throttled_time ?? 0 },
    },
    memory: {
      usage: memoryEntry(memory, 'memory'),
      swap: memoryEntry(memory, 'memory.memsw'),
      kernel: memoryEntry(memory, 'memory.kmem'),
      raw: parseKeyValues(read(`${memory}/memory.stat`)),
    },
    pids: { current: num(`${paths.pids ?? ''}/pids.current`), limit: pidsMax === 'max' || pidsMax === '' ? 0 : Number(pidsMax) },
    blkio: {
      ioServiceBytesRecursive: parseBlkio(read(`${blkio}/blkio.${throttled ? 'throttle.' : ''}io_service_bytes_recursive`)),
      ioServicedRecursive: parseBlkio(read(`${blkio}/blkio.${throttled ? 'throttle.' : ''}io_serviced_recursive`)),
    },
    hugetlb,
  };
}
