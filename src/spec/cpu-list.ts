// The kernel's CPU (and NUMA node) list syntax, "0-3,7", as runtime-spec
// uses it for execCPUAffinity. Pure: unit-tested without root.

/** The numbers a list names, ascending; throws an Error saying what is wrong with `text`. */
export function parseCpuList(text: string): number[] {
  const found = new Set<number>();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') throw new Error(`${JSON.stringify(text)} has an empty entry: want numbers and ranges such as "0-3,7"`);
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!range) throw new Error(`${JSON.stringify(text)}: "${part}" is not a number or a range such as "0-3"`);
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (last < first) throw new Error(`${JSON.stringify(text)}: range "${part}" ends before it starts`);
    if (last >= MAX_CPUS) throw new Error(`${JSON.stringify(text)}: CPU ${last} is beyond the kernel's limit of ${MAX_CPUS}`);
    for (let n = first; n <= last; n++) found.add(n);
  }
  return [...found].sort((a, b) => a - b);
}

/** CONFIG_NR_CPUS can reach 8192 on x86_64; beyond it no mask can name a CPU. */
export const MAX_CPUS = 8192;
