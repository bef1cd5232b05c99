// NUMA memory policy: set_mempolicy(2), and the host's memory nodes as
// sysfs lists them.
import { readFileSync } from 'node:fs';
import { rawSyscall, syscallError, syscallNumber } from './libc';
import { parseNodeList } from './kernel-list';

/** The host's memory nodes; null when the kernel has no NUMA support (no /sys/devices/system/node). */
export interface HostMemoryNodes {
  online: number[];
  possible: number[];
}

export function hostMemoryNodes(): HostMemoryNodes | null {
  try {
    return {
      online: parseNodeList(readFileSync('/sys/devices/system/node/online', 'utf8')),
      possible: parseNodeList(readFileSync('/sys/devices/system/node/possible', 'utf8')),
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

const BITS_PER_WORD = 64;

/**
 * The node mask as the kernel reads it: unsigned longs, node n at bit n,
 * and the maxnode argument. The kernel reads maxnode - 1 bits, so it is one
 * more than the bits the buffer holds.
 */
export function nodeMask(nodes: number[]): { mask: Buffer; maxNode: number } {
  const words = Math.floor(Math.max(-1, ...nodes) / BITS_PER_WORD) + 1;
  const mask = Buffer.alloc(words * 8);
  for (const n of nodes) {
    const word = Math.floor(n / BITS_PER_WORD);
    const at = word * 8;
    mask.writeBigUInt64LE(mask.readBigUInt64LE(at) | (1n << BigInt(n % BITS_PER_WORD)), at);
  }
  return { mask, maxNode: words * BITS_PER_WORD + 1 };
}

/**
 * set_mempolicy(2) for the calling thread; inherited by its children and
 * kept across execve. `describe` names the policy in the error
 * ("MPOL_BIND nodes 0-1").
 */
export function setMemoryPolicy(modeWithFlags: number, nodes: number[], describe: string): void {
  const { mask, maxNode } = nodeMask(nodes);
  const ret =
    nodes.length === 0
      ? rawSyscall(syscallNumber('set_mempolicy'), 'int', modeWithFlags, 'void *', null, 'unsigned long', 0)
      : rawSyscall(syscallNumber('set_mempolicy'), 'int', modeWithFlags, 'uint8_t *', mask, 'unsigned long', maxNode);
  if (ret < 0) throw syscallError('set_mempolicy', describe);
}
