// linux.memoryPolicy as set_mempolicy(2) will take it: the mode and flags as
// numbers, the nodes parsed and checked against the host's. Decided in the
// parent (before anything is made); applied by every process of the
// container, its init and each exec'd one, as runc 1.3 does.
import type { LinuxMemoryPolicy, MemoryPolicyFlag, MemoryPolicyMode } from '../../spec/types';
import { configError } from '../../errors';
import { formatKernelList, parseNodeList } from '../../linux/kernel-list';
import type { HostMemoryNodes } from '../../linux/numa';

/** <linux/mempolicy.h> */
export const MPOL_MODES: Record<MemoryPolicyMode, number> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};

export const MPOL_FLAGS: Record<MemoryPolicyFlag, number> = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
};

export interface MemoryPolicyPlan {
  /** The mode or'ed with its flags: set_mempolicy's first argument. */
  modeWithFlags: number;
  nodes: number[];
  /** For errors: "MPOL_BIND nodes 0-1". */
  describe: string;
}

const NODES_PTR = '/linux/memoryPolicy/nodes';

/**
 * The policy to apply, or undefined without one. `host` is null on a kernel
 * without NUMA, where set_mempolicy does not exist: any policy is refused.
 */
export function planMemoryPolicy(mp: LinuxMemoryPolicy | undefined, host: HostMemoryNodes | null): MemoryPolicyPlan | undefined {
  if (mp === undefined) return undefined;
  if (host === null) throw configError('/linux/memoryPolicy', 'this kernel has no NUMA support (no /sys/devices/system/node)');
  let nodes: number[];
  try {
    nodes = parseNodeList(mp.nodes ?? '');
  } catch (err) {
    throw configError(NODES_PTR, (err as Error).message);
  }
  const flags = mp.flags ?? [];
  checkNodesExist(nodes, flags, host);
  const modeWithFlags = flags.reduce((acc, f) => acc | MPOL_FLAGS[f], MPOL_MODES[mp.mode]);
  const flagText = flags.length > 0 ? ` flags ${[...new Set(flags)].join('|')}` : '';
  const nodeText = nodes.length > 0 ? ` nodes ${formatKernelList(nodes)}` : '';
  return { modeWithFlags, nodes, describe: `${mp.mode}${nodeText}${flagText}` };
}

/**
 * Plain node numbers must be online now. With MPOL_F_STATIC_NODES or
 * MPOL_F_RELATIVE_NODES the user means nodes that may come (or, relative,
 * positions in the cpuset's set): they must at least be possible here.
 */
function checkNodesExist(nodes: number[], flags: MemoryPolicyFlag[], host: HostMemoryNodes): void {
  const lenient = flags.includes('MPOL_F_STATIC_NODES') || flags.includes('MPOL_F_RELATIVE_NODES');
  const known = lenient ? host.possible : host.online;
  const missing = nodes.filter((n) => !known.includes(n));
  if (missing.length === 0) return;
  const which = lenient ? 'possible' : 'online';
  throw configError(NODES_PTR, `node ${formatKernelList(missing)} does not exist on this host (${which} nodes: ${formatKernelList(known) || 'none'})`);
}
