// Small helpers shared by the semantic checks (semantic.ts, semantic-linux.ts).

import { ConfigError } from '../errors';

/** Build a JSON pointer (RFC 6901) from path segments, escaping '~' and '/'. */
export function pointer(...segments: Array<string | number>): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** Throw the config error every semantic rule reports with. */
export function fail(ptr: string, detail: string): never {
  throw new ConfigError('config.json', ptr, detail);
}

/** Paths in the spec are POSIX paths whatever the host; absolute means a leading '/'. */
export function isAbsolute(p: string): boolean {
  return p.startsWith('/');
}

export function requireAbsolute(p: string, ptr: string): void {
  if (!isAbsolute(p)) fail(ptr, 'must be an absolute path');
}

export function requireProperty(obj: object, key: string, ptr: string): void {
  if ((obj as Record<string, unknown>)[key] === undefined) fail(ptr, `must have required property '${key}'`);
}

/** Reject empty keys in a string map (the spec forbids them for annotations; none of the maps can use one). */
export function requireNonEmptyKeys(map: Record<string, unknown> | undefined, ptr: string): void {
  if (map !== undefined && Object.prototype.hasOwnProperty.call(map, '')) fail(ptr, 'must not have an empty key');
}
