// The parent's reading of process.capabilities and process.rlimits into
// numbers the init applies without further thought. Unknown names are
// config errors here, before anything is created.
import { readFileSync } from 'node:fs';
import type { LinuxCapabilities, POSIXRlimit } from '../spec/types';
import { CAPABILITIES } from '../linux/capability-names';
import type { CapabilitySets } from '../linux/capabilities';
import { LINUX_RLIMITS } from '../spec/rlimits';
import { ConfigError } from '../errors';

const SET_NAMES = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

export function lastCapability(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    return Math.max(...Object.values(CAPABILITIES));
  }
}

/**
 * Capability names to numbers. A name this runtime does not know is an
 * error; a known one newer than the kernel is left out and reported through
 * `warn`, as runc does.
 */
export function resolveCapabilities(
  caps: LinuxCapabilities | undefined,
  lastCap: number,
  warn: (msg: string) => void,
): CapabilitySets | undefined {
  if (!caps) return undefined;
  const sets: CapabilitySets = { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] };
  for (const setName of SET_NAMES) {
    (caps[setName] ?? []).forEach((name, index) => {
      const number = CAPABILITIES[name];
      if (number === undefined) {
        throw new ConfigError('config.json', `/process/capabilities/${setName}/${index}`, `unknown capability "${name}"`);
      }
      if (number > lastCap) {
        warn(`capability ${name} is not supported by this kernel: ignored`);
        return;
      }
      sets[setName].push(number);
    });
  }
  return sets;
}

export interface ResolvedRlimit {
  resource: number;
  name: string;
  soft: number;
  hard: number;
}

export function resolveRlimits(rlimits: POSIXRlimit[] | undefined): ResolvedRlimit[] {
  return (rlimits ?? []).map((r, index) => {
    const resource = LINUX_RLIMITS[r.type];
    if (resource === undefined) throw new ConfigError('config.json', `/process/rlimits/${index}/type`, `unknown rlimit "${r.type}"`);
    return { resource, name: r.type, soft: r.soft, hard: r.hard };
  });
}
