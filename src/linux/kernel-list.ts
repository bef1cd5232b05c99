// The kernel's list syntax for CPUs and NUMA nodes ("0-3,7"): the form of
// process.execCPUAffinity, linux.memoryPolicy.nodes and of
// /sys/devices/system/{cpu,node}/online. Pure, so it is unit-tested.

/** CONFIG_NR_CPUS reaches 8192 on x86_64; CONFIG_NODES_SHIFT is at most 10. */
const LIMITS = { CPU: 8192, node: 1024 } as const;
type Unit = keyof typeof LIMITS;

/** Every number the list names, ascending, without duplicates; '' is none. Throws a one-line Error on bad syntax. */
function parseKernelList(text: string, unit: Unit): number[] {
  const found = new Set<number>();
  const trimmed = text.trim();
  if (trimmed === '') return [];
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`${JSON.stringify(part)} is not a ${unit} number or range (expected a list such as "0-3,7")`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) throw new Error(`range ${JSON.stringify(part)} ends before it starts`);
    if (last >= LIMITS[unit]) throw new Error(`${unit} ${last} is beyond the kernel's limit of ${LIMITS[unit]} ${unit}s`);
    for (let n = first; n <= last; n++) found.add(n);
  }
  return [...found].sort((a, b) => a - b);
}

export const parseCpuList = (text: string): number[] => parseKernelList(text, 'CPU');
export const parseNodeList = (text: string): number[] => parseKernelList(text, 'node');

/** The list form of sorted numbers ("0-3,7"), for messages. */
export function formatKernelList(numbers: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < numbers.length; i++) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) j++;
    parts.push(j === i ? String(numbers[i]) : `${numbers[i]}-${numbers[j]}`);
    i = j;
  }
  return parts.join(',');
}
