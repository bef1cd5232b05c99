// The kernel's list syntax of NUMA nodes and CPUs ("0-3,7"): the form of
// config-linux.md's memoryPolicy.nodes and of /sys/devices/system/node/online.
// Pure, so it is unit-tested.

/** Every number the list names, ascending, without duplicates; throws a one-line Error on bad syntax. */
export function parseNodeList(text: string): number[] {
  const nodes = new Set<number>();
  const trimmed = text.trim();
  if (trimmed === '') return [];
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`${JSON.stringify(part)} is not a node number or range (expected a list such as "0-3,7")`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) throw new Error(`range ${JSON.stringify(part)} ends before it starts`);
    // The kernel's MAX_NUMNODES is at most 1024 (NODES_SHIFT 10): a larger number cannot be a node.
    if (last >= MAX_NODES) throw new Error(`node ${last} is beyond the kernel's limit of ${MAX_NODES} nodes`);
    for (let n = first; n <= last; n++) nodes.add(n);
  }
  return [...nodes].sort((a, b) => a - b);
}

/** CONFIG_NODES_SHIFT is at most 10 on every architecture the kernel builds. */
export const MAX_NODES = 1024;

/** The list form of sorted node numbers ("0-3,7"), for messages. */
export function formatNodeList(nodes: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < nodes.length; i++) {
    let j = i;
    while (j + 1 < nodes.length && nodes[j + 1] === nodes[j] + 1) j++;
    parts.push(j === i ? String(nodes[i]) : `${nodes[i]}-${nodes[j]}`);
    i = j;
  }
  return parts.join(',');
}
