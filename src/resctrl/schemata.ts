// The lines of a resctrl `schemata` file ("L3:0=7f0;1=1f", "MB:0=20;1=70"):
// which lines linux.intelRdt asks for and in what order, and whether a
// group's file already says the same. Pure, so it is unit-tested.
import type { LinuxIntelRdt } from '../spec/types';

/** One line to write, and the config field it came from (a JSON pointer). */
export interface SchemataLine {
  line: string;
  pointer: string;
}

/**
 * config-linux.md "IntelRdt": l3CacheSchema first, memBwSchema next, then
 * each line of `schemata`. Empty strings are no line.
 */
export function schemataLines(rdt: LinuxIntelRdt): SchemataLine[] {
  const lines: SchemataLine[] = [];
  if (rdt.l3CacheSchema) lines.push({ line: rdt.l3CacheSchema.trim(), pointer: '/linux/intelRdt/l3CacheSchema' });
  if (rdt.memBwSchema) lines.push({ line: rdt.memBwSchema.trim(), pointer: '/linux/intelRdt/memBwSchema' });
  rdt.schemata?.forEach((line, i) => {
    if (line.trim() !== '') lines.push({ line: line.trim(), pointer: `/linux/intelRdt/schemata/${i}` });
  });
  return lines;
}

/** The resource a line sets ("L3", "MB", "L3CODE"...), or null when it has no "NAME:". */
export function resourceOf(line: string): string | null {
  const m = /^\s*([A-Za-z0-9_]+)\s*:/.exec(line);
  return m ? m[1] : null;
}

/** A line's domains and their values: "L3:0=7f0;1=1f" gives 0 -> 7f0, 1 -> 1f. Throws on bad syntax. */
export function parseSchemataLine(line: string): { resource: string; domains: Map<string, string> } {
  const resource = resourceOf(line);
  if (resource === null) throw new Error(`${JSON.stringify(line)} is not a schemata line (expected "RESOURCE:id=value;...")`);
  const domains = new Map<string, string>();
  for (const part of line.slice(line.indexOf(':') + 1).split(';')) {
    if (part.trim() === '') continue;
    const m = /^\s*([0-9]+)\s*=\s*([0-9A-Za-z]+)\s*$/.exec(part);
    if (!m) throw new Error(`${JSON.stringify(part)} in ${JSON.stringify(line)} is not "domain=value"`);
    domains.set(m[1], m[2]);
  }
  if (domains.size === 0) throw new Error(`${JSON.stringify(line)} names no domain`);
  return { resource, domains };
}

/**
 * Whether the group's current schemata file holds what `wanted` asks for:
 * every domain of the wanted line with the same value. The kernel prints
 * bitmasks in its own width (0x7f0 as "07f0") and MB as decimal, so values
 * compare as numbers (hex for cache masks, decimal for MB).
 */
export function schemataHolds(current: string, wanted: string): boolean {
  const want = parseSchemataLine(wanted);
  const line = current.split('\n').find((l) => resourceOf(l) === want.resource);
  if (line === undefined) return false;
  const have = parseSchemataLine(line).domains;
  const radix = want.resource.startsWith('MB') || want.resource === 'SMBA' ? 10 : 16;
  for (const [domain, value] of want.domains) {
    const got = have.get(domain);
    if (got === undefined || parseInt(got, radix) !== parseInt(value, radix)) return false;
  }
  return true;
}
