// Conversions from the spec's cgroup v1 units to cgroup v2 ones, where v2
// changed the scale or the meaning. Pure; shared by anything that must turn
// a v1-shaped value into a v2 one (the v2 writes, a systemd driver later).
import { configError } from '../../errors';

/**
 * cpu.shares [2, 262144] -> cpu.weight [1, 10000]. The curve is the one runc
 * (opencontainers/cgroups 0.0.3+) and crun (1.22+) use since 2025: a quadratic
 * in log2(shares) chosen so that the minimum, the maximum AND the default meet
 * (2 -> 1, 1024 -> 100, 262144 -> 10000). The older straight line mapped the
 * default 1024 shares to weight 39, so every container weighed less than a
 * plain systemd service; 0 stays "unset".
 */
export function sharesToCpuWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.ceil(10 ** exponent);
}

/**
 * blkio.weight [10, 1000] -> io.weight [1, 10000], linearly (as runc and
 * crun); 0 stays "unset". Values below 10 (BFQ accepts 1) clamp to 1.
 */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  const w = 1 + Math.floor(((weight - 10) * 9999) / 990);
  return Math.min(10000, Math.max(1, w));
}

/**
 * memory.swap in the spec is memory+swap (v1's memsw); v2's memory.swap.max
 * is swap alone, so the limit is subtracted. Returns the memory.swap.max
 * value, or undefined when nothing is to be written.
 *   - swap unset or 0, limit -1: "max" (v1 callers meant "no limit on
 *     either" when they made memory unlimited; runc does the same);
 *   - swap unset or 0 otherwise: leave memory.swap.max alone;
 *   - swap -1: "max";
 *   - limit -1: memory is unlimited, swap is taken as given;
 *   - otherwise swap - limit, which must not be negative ("0": no swap).
 */
export function memorySwapToV2(swap: number | undefined, limit: number | undefined): string | undefined {
  const field = '/linux/resources/memory/swap';
  if (swap === undefined || swap === 0) return limit === -1 ? 'max' : undefined;
  if (swap === -1) return 'max';
  if (swap < -1) throw configError(field, `${swap} is not a byte count (use -1 for unlimited)`);
  if (limit === -1) return String(swap);
  if (limit === undefined || limit === 0) {
    throw configError(field, `cgroup v2 limits swap separately from memory, so memory+swap needs memory.limit to be set too`);
  }
  if (swap < limit) throw configError(field, `memory+swap (${swap}) is less than memory.limit (${limit})`);
  return String(swap - limit);
}
