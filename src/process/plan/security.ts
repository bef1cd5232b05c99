// The parent's reading of process.capabilities and process.rlimits into
// numbers the init applies without further thought. Unknown names are
// config errors here, before anything is created.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { LinuxCapabilities, POSIXRlimit, Spec } from '../../spec/types';
import { PER_LINUX, PER_LINUX32, type SchedAttr } from '../../linux/sched';
import { CAPABILITIES } from '../../linux/capability-names';
import type { CapabilitySets } from '../../linux/capabilities';
import { LINUX_RLIMITS } from '../../spec/rlimits';
import { configError } from '../../errors';

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
        throw configError(`/process/capabilities/${setName}/${index}`, `unknown capability "${name}"`);
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
    if (resource === undefined) throw configError(`/process/rlimits/${index}/type`, `unknown rlimit "${r.type}"`);
    return { resource, name: r.type, soft: r.soft, hard: r.hard };
  });
}

const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

/**
 * Only sysctls that live in a namespace the container has of its own may be
 * set: anything else would change the host.
 */
export function checkSysctls(sysctl: Record<string, string> | undefined, namespaces: Set<string>): void {
  for (const key of Object.keys(sysctl ?? {})) {
    const where = `/linux/sysctl/${key}`;
    let needs: string | undefined;
    if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) needs = 'ipc';
    else if (key.startsWith('net.')) needs = 'network';
    else if (key === 'kernel.hostname' || key === 'kernel.domainname') needs = 'uts';
    if (needs === undefined) throw configError(where, `sysctl "${key}" is not in a separate kernel namespace`);
    if (!namespaces.has(needs)) throw configError(where, `sysctl "${key}" needs a ${needs} namespace of the container's own`);
  }
}

const SCHED_POLICIES: Record<string, number> = { SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6 };
const SCHED_FLAGS: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
const IO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

export interface ProcessAttributes {
  personality?: number;
  ioPriority?: { ioClass: number; level: number };
  scheduler?: SchedAttr;
  oomScoreAdj?: number;
}

export function resolveProcessAttributes(spec: Spec): ProcessAttributes {
  const out: ProcessAttributes = {};
  const personality = spec.linux?.personality;
  if (personality) {
    if ((personality.flags ?? []).length > 0) throw configError('/linux/personality/flags', 'personality flags are not supported');
    out.personality = personality.domain === 'LINUX32' ? PER_LINUX32 : PER_LINUX;
  }
  const io = spec.process?.ioPriority;
  if (io) {
    const ioClass = IO_CLASSES[io.class];
    if (ioClass === undefined) throw configError('/process/ioPriority/class', `unknown class "${io.class}"`);
    out.ioPriority = { ioClass, level: io.priority };
  }
  const sched = spec.process?.scheduler;
  if (sched) {
    const policy = SCHED_POLICIES[sched.policy];
    if (policy === undefined) throw configError('/process/scheduler/policy', `unknown policy "${sched.policy}"`);
    let flags = 0;
    (sched.flags ?? []).forEach((name, i) => {
      const bit = SCHED_FLAGS[name];
      if (bit === undefined) throw configError(`/process/scheduler/flags/${i}`, `unknown flag "${name}"`);
      flags |= bit;
    });
    out.scheduler = { policy, flags, nice: sched.nice ?? 0, priority: sched.priority ?? 0, runtime: sched.runtime ?? 0, deadline: sched.deadline ?? 0, period: sched.period ?? 0 };
  }
  if (spec.process?.oomScoreAdj !== undefined) out.oomScoreAdj = spec.process.oomScoreAdj;
  return out;
}

/** /proc files a bind mount may replace (what runc lets through, e.g. lxcfs' files). */
const PROC_BIND_ALLOWED = new Set([
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/net/dev',
  '/proc/sys/kernel/ns_last_pid',
]);

type ProcMountCandidate = { destination: string; type?: string; options?: string[] };

/**
 * A mount inside /proc could cover what maskedPaths and readonlyPaths guard
 * (a writable fake /proc/sys, a file over /proc/self/attr: the
 * CVE-2019-16884 class). Only a real proc at /proc, or a bind of an
 * allowlisted file, may go there.
 */
export function checkProcMounts(mounts: ProcMountCandidate[] = []): void {
  mounts.forEach((m, i) => checkProcMount(m, i, m.destination));
}

/**
 * The check for one mount at `where`, the destination as the container
 * sees it: the configured one here, and in the init the path its symlinks
 * resolve to in the rootfs (`/myproc/sys` with `myproc -> /proc`).
 */
export function checkProcMount(m: ProcMountCandidate, index: number, where: string): void {
  const dest = posix.normalize('/' + where).replace(/(.)\/$/, '$1');
  if (dest !== '/proc' && !dest.startsWith('/proc/')) return;
  if (dest === '/proc' && m.type === 'proc') return;
  const isBind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
  if (isBind && PROC_BIND_ALLOWED.has(dest)) return;
  const named = dest === m.destination ? `"${m.destination}"` : `"${m.destination}" (${dest} in the container)`;
  throw configError(`/mounts/${index}/destination`, `${named} cannot be mounted: it is inside /proc (only proc itself, or a bind over ${[...PROC_BIND_ALLOWED].join(', ')})`);
}
