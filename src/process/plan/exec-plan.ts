// What the parent decides before forking an exec'd process (crun's rule, as
// for create: the parent does the thinking, the children only apply):
// capabilities, rlimits and seccomp resolved, and which of the init's
// namespaces differ from the runtime's and must be joined.
import { statSync } from 'node:fs';
import type { Process, Spec } from '../../spec/types';
import { PROC_NS_NAME, type NamespaceKind } from '../../linux/namespaces';
import { UserError } from '../../errors';
import { planProcess, processFieldError, type ProcessPlan } from './process-plan';
import { parseCpuList } from '../../linux/kernel-list';
import type { SeccompOwner } from './seccomp';
import type { CgroupState } from '../../cgroups/types';
import type { IntelRdtState } from '../../resctrl/group';

/** What the exec'd process needs to set its terminal up: the socket the pty master goes to. */
export interface ExecTerminal {
  socketFd: number;
  /** For error messages ("console socket /x.sock"). */
  describe: string;
  /** The parent's copy is ours to close (a --console-socket connection), not the relay's. */
  owned: boolean;
}

export interface ExecPlan {
  id: string;
  bundle: string;
  /** The container's config with `process` replaced by the exec'd one (seccomp and the agent read it). */
  spec: Spec;
  /** The process to start, planned as the container's own is. */
  process: ProcessPlan;
  /** The container's init: its namespaces and root are entered through /proc/<pid>. */
  initPid: number;
  /** Checked once the namespace files are open, so a reused pid is never entered. */
  initStartTime: number;
  /** Namespaces of the init that are not the runtime's, user first; the mount namespace is not among them. */
  join: Array<{ kind: NamespaceKind; path: string }>;
  /**
   * The init's mount namespace when it differs: joined by the exec'd process
   * itself, because after that the runtime's /proc (which forking reads) is gone.
   */
  mountNamespace?: string;
  /** /proc/<init>/root, opened before the namespaces are entered. */
  rootPath: string;
  /** The container's status as a seccomp agent is told it. */
  containerStatus: 'created' | 'running';
  terminal?: ExecTerminal;
  /** The container's cgroup, which the process is placed in. */
  cgroup?: CgroupState;
  /** process.execCPUAffinity as CPU numbers; `final` absent: the cgroup's cpuset, once placed. */
  cpuAffinity?: { initial?: number[]; final?: number[] };
  /** The container's resctrl group, which the process joins as the init did. */
  intelRdt?: IntelRdtState;
}

export interface ExecTarget {
  id: string;
  bundle: string;
  initPid: number;
  initStartTime: number;
  status: 'created' | 'running' | 'paused';
  cgroup?: CgroupState;
  intelRdt?: IntelRdtState;
}

export function makeExecPlan(spec: Spec, proc: Process, target: ExecTarget, options: { preserveFds: number; warn: (msg: string) => void }): ExecPlan {
  const withProcess: Spec = { ...spec, process: proc };
  const process = planProcess(withProcess, { origin: 'exec', preserveFds: options.preserveFds, warn: options.warn });
  const namespaces = namespacesToJoin(target.initPid);
  return {
    id: target.id,
    bundle: target.bundle,
    spec: withProcess,
    process,
    initPid: target.initPid,
    initStartTime: target.initStartTime,
    join: namespaces.join,
    ...(namespaces.mount && { mountNamespace: namespaces.mount }),
    rootPath: `/proc/${target.initPid}/root`,
    containerStatus: target.status === 'created' ? 'created' : 'running',
    ...(target.cgroup && { cgroup: target.cgroup }),
    ...(proc.execCPUAffinity && { cpuAffinity: planCpuAffinity(proc.execCPUAffinity) }),
    ...(target.intelRdt && { intelRdt: target.intelRdt }),
  };
}

/**
 * execCPUAffinity: `initial` for the runtime's child before it joins the
 * container's cgroup, `final` after. Empty strings mean "not set".
 */
function planCpuAffinity(affinity: NonNullable<Process['execCPUAffinity']>): { initial?: number[]; final?: number[] } {
  const parse = (when: 'initial' | 'final'): number[] | undefined => {
    const text = affinity[when];
    if (text === undefined || text.trim() === '') return undefined;
    try {
      return parseCpuList(text);
    } catch (err) {
      throw processFieldError('exec', `execCPUAffinity.${when}`, (err as Error).message);
    }
  };
  const initial = parse('initial');
  const final = parse('final');
  return { ...(initial && { initial }), ...(final && { final }) };
}

/** The container as the exec'd process' seccomp agent is told about it (the init's pid, as runc). */
export function execSeccompOwner(plan: ExecPlan): SeccompOwner {
  return { id: plan.id, bundle: plan.bundle, spec: plan.spec, seccomp: plan.process.seccomp, initPid: plan.initPid };
}

/** User first: once in the container's user namespace, the others (owned by it) may be joined. */
const JOIN_ORDER: NamespaceKind[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time'];

/**
 * The init's namespaces that are not ours. setns into the namespace one is
 * already in is refused for a user namespace, and pointless for the rest.
 */
export function namespacesToJoin(initPid: number): { join: Array<{ kind: NamespaceKind; path: string }>; mount?: string } {
  const join: Array<{ kind: NamespaceKind; path: string }> = [];
  for (const kind of JOIN_ORDER) {
    const path = `/proc/${initPid}/ns/${PROC_NS_NAME[kind]}`;
    if (differsFromOurs(path, `/proc/self/ns/${PROC_NS_NAME[kind]}`)) join.push({ kind, path });
  }
  const mountPath = `/proc/${initPid}/ns/mnt`;
  // Every process has a mount namespace: not finding the init's means it is gone.
  if (identity(mountPath) === null) throw new UserError('container not running');
  return differsFromOurs(mountPath, '/proc/self/ns/mnt') ? { join, mount: mountPath } : { join };
}

function differsFromOurs(theirs: string, ours: string): boolean {
  const a = identity(theirs);
  // A kind this kernel lacks (time before 5.6) is missing for both.
  if (a === null) return false;
  return a !== identity(ours);
}

function identity(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}
