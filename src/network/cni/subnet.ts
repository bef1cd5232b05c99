// IPv4 prefixes as numbers, and the choice of the default network's subnet:
// the first private /24 that overlaps nothing this network namespace routes
// to or has an address in, so the containers' traffic cannot be mistaken
// for the host's. Pure: the routes and addresses are read elsewhere
// (host-routes.ts) and handed in.
import { UserError } from '../../errors';

export interface Ipv4Prefix {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  length: number;
}

function maskOf(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** "10.1.2.3" as a number, or null when it is not a dotted IPv4 address. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

/** "10.0.0.0/8", or a bare address as a /32; null for anything else (IPv6, "default"). */
export function parsePrefix(text: string): Ipv4Prefix | null {
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined) return null;
  const value = parseIpv4(addr);
  const length = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (value === null || !(length >= 0 && length <= 32)) return null;
  return { base: (value & maskOf(length)) >>> 0, length };
}

export function formatPrefix(p: Ipv4Prefix): string {
  return `${formatIpv4(p.base)}/${p.length}`;
}

export function overlaps(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  const mask = maskOf(Math.min(a.length, b.length));
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}

/**
 * Where the candidates come from, in order: 10.89.0.0/24 upwards (below it,
 * 10.88.0.0/16 is podman's default network), then the other two private
 * ranges, for hosts whose VPN claims all of 10/8.
 */
const CANDIDATE_RANGES: Array<{ from: string; to: string }> = [
  { from: '10.89.0.0', to: '10.255.255.0' },
  { from: '172.16.0.0', to: '172.31.255.0' },
  { from: '192.168.0.0', to: '192.168.255.0' },
];

function* candidates(): Generator<Ipv4Prefix> {
  for (const range of CANDIDATE_RANGES) {
    const last = parseIpv4(range.to)!;
    for (let base = parseIpv4(range.from)!; base <= last; base += 256) yield { base, length: 24 };
  }
}

/**
 * The first candidate /24 that overlaps none of `inUse` (route destinations
 * and interface prefixes, as "a.b.c.d/len" or bare addresses). A default
 * route (/0) is left out: it covers every address and so says nothing about
 * which ones are taken. Non-IPv4 entries are ignored.
 */
export function chooseSubnet(inUse: string[]): string {
  const taken = inUse.map(parsePrefix).filter((p): p is Ipv4Prefix => p !== null && p.length > 0);
  for (const candidate of candidates()) {
    if (!taken.some((t) => overlaps(t, candidate))) return formatPrefix(candidate);
  }
  const ranges = CANDIDATE_RANGES.map((r) => `${r.from}-${r.to}`).join(', ');
  throw new UserError(`default network: no free /24 subnet: every candidate in ${ranges} overlaps a route or an address of this network namespace`);
}

/** The first host address of a prefix, the bridge's (gateway's) address. */
export function firstHost(prefix: string): string {
  const p = parsePrefix(prefix);
  if (p === null) throw new Error(`not an IPv4 prefix: ${prefix}`);
  return formatIpv4(p.base + 1);
}
