// What a process that is about to wait for a long time (the init blocked on
// its exec fifo) can give back without changing what it will do next.
import { readFileSync } from 'node:fs';
import { dropForkScratch } from './fork';
import { madvise, mallocTrim, MADV_DONTNEED } from './memory';

/**
 * The fork scratch buffers and a full GC, then malloc's free pages back to
 * the kernel, then the clean pages of read-only file mappings (program text
 * and constants of node, libc, koffi) dropped from this process: they stay
 * in the page cache and fault back in, unchanged, when the process runs
 * again. Failures change nothing.
 */
export function releaseIdleMemory(): void {
  // Read first: the GC then takes smaps' text (a few hundred kB) too.
  const ranges = cleanFileMappings();
  dropForkScratch();
  (globalThis as { gc?: () => void }).gc?.();
  mallocTrim(0);
  // The largest (node's own text) goes last: code that runs after a drop
  // faults its pages back in.
  ranges.sort((a, b) => Number(a[1] - a[0] - (b[1] - b[0])));
  for (const [from, to] of ranges) madvise(from, to - from, MADV_DONTNEED);
}

/**
 * Private file mappings that are not writable and hold no anonymous page:
 * one that was ever written (relocations, then RELRO made it read-only) holds
 * anonymous copies MADV_DONTNEED would throw away.
 */
function cleanFileMappings(): Array<[bigint, bigint]> {
  let smaps: string;
  try {
    smaps = readFileSync('/proc/self/smaps', 'latin1');
  } catch {
    return []; // no /proc in this mount namespace: keep everything
  }
  const found: Array<[bigint, bigint]> = [];
  let candidate: [bigint, bigint] | undefined;
  for (const line of smaps.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)/.exec(line);
    if (header) {
      const readOnly = header[3] === 'r-xp' || header[3] === 'r--p';
      candidate = readOnly && header[4] !== '0' ? [BigInt(`0x${header[1]}`), BigInt(`0x${header[2]}`)] : undefined;
    } else if (candidate && line.startsWith('Anonymous:')) {
      if (/^Anonymous:\s+0 kB/.test(line)) found.push(candidate);
      candidate = undefined;
    }
  }
  return found;
}
