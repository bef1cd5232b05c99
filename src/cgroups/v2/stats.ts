// cgroup v2 interface files -> CgroupStats, with runc's field meanings so
// `events --stats` reads the same on v1 and v2. Pure: the caller reads the
// files (any it cannot read it leaves out) and passes their contents by name.
import type { BlkioEntry, CgroupStats, MemoryEntry } from '../types';

/**
 * What "max" (no limit) is reported as. runc says 2^64-1, which a JS number
 * cannot hold and which, printed as 18446744073709552000, no longer fits the
 * uint64 its readers (containerd) parse it into; the largest exact integer
 * still reads as "no limit" there.
 */
export const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** "key value" lines (cpu.stat, memory.stat, memory.events, hugetlb.*.events). */
export function parseFlatKeyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [key, value, extra] = line.trim().split(/\s+/);
    if (key && value !== undefined && extra === undefined) out[key] = num(value);
  }
  return out;
}

/** A single-value file: a number, or "max" for no limit. Absent or empty: 0. */
export function parseSingle(text: string | undefined): number {
  const t = (text ?? '').trim();
  if (t === 'max') return UNLIMITED;
  return t === '' ? 0 : num(t);
}

function num(s: string): number {
  if (s === 'max') return UNLIMITED;
  const n = Number(s);
  return Number.isFinite(n) ? n : 0;
}

export function parseV2Stats(files: Record<string, string>): CgroupStats {
  return { cpu: cpu(files), memory: memory(files), pids: pids(files), blkio: blkio(files['io.stat']), hugetlb: hugetlb(files) };
}

/** v2 counts microseconds; runc reports nanoseconds as v1's cpuacct did. */
function cpu(files: Record<string, string>): CgroupStats['cpu'] {
  const s = parseFlatKeyed(files['cpu.stat']);
  const ns = (key: string): number => (s[key] ?? 0) * 1000;
  return {
    usage: { total: ns('usage_usec'), user: ns('user_usec'), kernel: ns('system_usec') },
    throttling: { periods: s.nr_periods ?? 0, throttledPeriods: s.nr_throttled ?? 0, throttledTime: ns('throttled_usec') },
  };
}

function memory(files: Record<string, string>): CgroupStats['memory'] {
  const events = parseFlatKeyed(files['memory.events']);
  const usage: MemoryEntry = {
    usage: parseSingle(files['memory.current']),
    limit: files['memory.max'] === undefined ? UNLIMITED : parseSingle(files['memory.max']),
    max: parseSingle(files['memory.peak']),
    // v1's failcnt counted hits of the limit; v2's memory.events "max" counts the same.
    failcnt: events.max ?? 0,
  };
  const out: CgroupStats['memory'] = { usage, raw: parseFlatKeyed(files['memory.stat']) };
  if (files['memory.swap.current'] !== undefined) {
    // v1 reported swap as memory+swap; runc adds the two on v2 to keep that meaning.
    const swapLimit = files['memory.swap.max'] === undefined ? UNLIMITED : parseSingle(files['memory.swap.max']);
    out.swap = {
      usage: parseSingle(files['memory.swap.current']) + usage.usage,
      limit: swapLimit === UNLIMITED || usage.limit === UNLIMITED ? UNLIMITED : swapLimit + usage.limit,
      // A peak of the sum cannot be rebuilt from two separate peaks.
      max: 0,
      failcnt: parseFlatKeyed(files['memory.swap.events']).max ?? 0,
    };
  }
  return out;
}

/** No pids.max limit is reported as 0, as runc does on v1 and v2. */
function pids(files: Record<string, string>): CgroupStats['pids'] {
  const limit = parseSingle(files['pids.max']);
  return { current: parseSingle(files['pids.current']), limit: limit === UNLIMITED ? 0 : limit };
}

/** io.stat: "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. ..." per device. */
function blkio(text: string | undefined): CgroupStats['blkio'] {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  const tables: Record<string, [BlkioEntry[], string]> = { rbytes: [bytes, 'Read'], wbytes: [bytes, 'Write'], rios: [ios, 'Read'], wios: [ios, 'Write'] };
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    for (const pair of pairs) {
      const [key, value] = pair.split('=');
      const table = tables[key];
      if (table && value !== undefined) table[0].push({ major: Number(m[1]), minor: Number(m[2]), op: table[1], value: num(value) });
    }
  }
  return { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
}

/**
 * Per page size: usage from hugetlb.<size>.rsvd.current when the kernel has
 * reservation accounting (what the limits apply to), else .current; failcnt
 * from the "max" count in .events. v2 keeps no peak: max is 0.
 */
function hugetlb(files: Record<string, string>): CgroupStats['hugetlb'] {
  const out: CgroupStats['hugetlb'] = {};
  for (const name of Object.keys(files)) {
    const m = /^hugetlb\.([^.]+)\.current$/.exec(name);
    if (!m) continue;
    const size = m[1];
    const usage = files[`hugetlb.${size}.rsvd.current`] ?? files[name];
    out[size] = { usage: parseSingle(usage), max: 0, failcnt: parseFlatKeyed(files[`hugetlb.${size}.events`]).max ?? 0 };
  }
  return out;
}
