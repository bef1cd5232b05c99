// What this network namespace already uses, for the choice of the default
// network's subnet: the IPv4 route destinations of every routing table and
// the prefixes of the interfaces' addresses, each with its device. Read from
// `ip -j` (iproute2's JSON); where `ip` cannot be run, from /proc/net/route,
// which has the main table only (and so every interface's connected prefix).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { UserError } from '../../errors';
import { formatIpv4, formatPrefix, parsePrefix } from './subnet';

export interface UsedPrefix {
  /** "a.b.c.d/len"; a bare address stands for a /32. */
  prefix: string;
  dev: string;
}

function ipJson(args: string[]): unknown[] | null {
  const r = spawnSync('ip', ['-4', '-j', ...args], { encoding: 'utf8', timeout: 10000 });
  if (r.error || r.status !== 0) return null;
  try {
    const parsed: unknown = JSON.parse(r.stdout);
    return Array.isArray(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

function routesFromIp(routes: unknown[]): UsedPrefix[] {
  return routes.flatMap((r) => {
    const { dst, dev } = r as { dst?: unknown; dev?: unknown };
    if (typeof dst !== 'string' || dst === 'default') return [];
    return [{ prefix: dst, dev: typeof dev === 'string' ? dev : '' }];
  });
}

function addressesFromIp(links: unknown[]): UsedPrefix[] {
  return links.flatMap((l) => {
    const { ifname, addr_info } = l as { ifname?: unknown; addr_info?: unknown };
    if (!Array.isArray(addr_info)) return [];
    return addr_info.flatMap((a) => {
      const { local, prefixlen } = a as { local?: unknown; prefixlen?: unknown };
      if (typeof local !== 'string' || typeof prefixlen !== 'number') return [];
      return [{ prefix: `${local}/${prefixlen}`, dev: typeof ifname === 'string' ? ifname : '' }];
    });
  });
}

/** /proc/net/route holds addresses as little-endian hex words. */
function hexAddress(hex: string): number {
  const n = parseInt(hex, 16);
  return (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | ((n >>> 24) & 0xff)) >>> 0;
}

/** The routes of /proc/net/route's text (its header line skipped). */
export function parseProcNetRoute(text: string): UsedPrefix[] {
  return text.split('\n').slice(1).flatMap((line) => {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) return [];
    const mask = hexAddress(f[7]);
    const length = mask.toString(2).replace(/0+$/, '').length;
    const p = parsePrefix(`${formatIpv4(hexAddress(f[1]))}/${mask === 0 ? 0 : length}`);
    return p === null || p.length === 0 ? [] : [{ prefix: formatPrefix(p), dev: f[0] }];
  });
}

/** Every IPv4 prefix this network namespace routes to or holds an address in. */
export function readUsedPrefixes(): UsedPrefix[] {
  const routes = ipJson(['route', 'show', 'table', 'all']);
  const addresses = ipJson(['addr', 'show']);
  if (routes !== null && addresses !== null) return [...routesFromIp(routes), ...addressesFromIp(addresses)];
  try {
    return parseProcNetRoute(readFileSync('/proc/net/route', 'utf8'));
  } catch (err) {
    throw new UserError(`default network: cannot read this namespace's routes (ip -j route failed, /proc/net/route: ${(err as Error).message})`);
  }
}
