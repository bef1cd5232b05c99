// newuidmap/newgidmap (shadow's setuid helpers, Debian package uidmap): they
// write a user namespace's map for an unprivileged user after checking it
// against /etc/subuid or /etc/subgid. Called as `newuidmap PID c h s ...`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LinuxIDMapping } from '../../spec/types';

/** Where the helpers may be: $PATH (callers such as podman may pass none), then the usual places. */
const STANDARD_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

export function findMappingHelper(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...path.split(':').filter((d) => d.startsWith('/')), ...STANDARD_DIRS]) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Runs the helper for `pid`; undefined when it wrote the map, else why not, in one line. */
export function runMappingHelper(name: 'newuidmap' | 'newgidmap', pid: number, maps: LinuxIDMapping[]): string | undefined {
  const kind = name === 'newuidmap' ? 'uid' : 'gid';
  const helper = findMappingHelper(name);
  if (helper === undefined) {
    return `the kernel lets a non-root user map only their own ${kind} alone, and ${name} (Debian package uidmap) is not installed to map more`;
  }
  const args = [String(pid), ...maps.flatMap((m) => [m.containerID, m.hostID, m.size].map(String))];
  // Loaded here: child_process costs every other verb ~10 ms of start-up.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const result = spawnSync(helper, args, { encoding: 'utf8', env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status === 0) return undefined;
  const said = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').filter(Boolean).join('; ');
  const how = result.error ? result.error.message : result.signal ? `killed by ${result.signal}` : `exit status ${result.status}`;
  return `${name} refused the mapping (${how})${said ? `: ${said}` : ''}`;
}
