// Which user namespace this process is in, read from /proc/self/uid_map.
import { readFileSync } from 'node:fs';

function readUidMap(): string {
  try {
    return readFileSync('/proc/self/uid_map', 'utf8');
  } catch {
    return '0 0 4294967295';
  }
}

/** The host's user namespace has the identity map `0 0 4294967295`; anything else is a user namespace. */
export function inUserNamespace(uidMap = readUidMap()): boolean {
  const lines = uidMap.trim().split('\n');
  return !(lines.length === 1 && /^\s*0\s+0\s+4294967295\s*$/.test(lines[0]));
}

/**
 * `uid` of this namespace as the parent namespace sees it (what a server
 * outside, such as a user's systemd, sees through SO_PEERCRED), or
 * undefined when it is not mapped.
 */
export function uidInParentNamespace(uid: number, uidMap = readUidMap()): number | undefined {
  for (const line of uidMap.trim().split('\n')) {
    const [inside, outside, size] = line.trim().split(/\s+/).map(Number);
    if (uid >= inside && uid < inside + size) return outside + (uid - inside);
  }
  return undefined;
}
