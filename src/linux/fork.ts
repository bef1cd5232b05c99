// Forking a Node process so that the child can go on running JavaScript.
// docs/architecture.md §6 has the measurements behind each rule here:
//  - V8 marks its heap MADV_DONTFORK, so every mapping is flipped to
//    MADV_DOFORK before fork() or the child has no heap;
//  - a GC during that pass can map new DONTFORK pages, so after fork() the
//    parent checks /proc/self/smaps and, if any range still says `dc`, kills
//    the child and forks again. The child waits on a pipe for the verdict.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { madvise, MADV_DOFORK } from './memory';
import { makePipe, readFd, writeFd, closeFd } from './fd';
import { rawFork, exitNow, waitPid } from './proc';
import { sendSignal } from './signals';

const MAX_ATTEMPTS = 20;

/**
 * Descriptors that only this process may hold (its container lock files):
 * each child forkChild() makes closes them before anything else, so no
 * container process or helper ever holds one.
 */
const parentOnlyFds = new Set<number>();

export function closeInForkedChildren(fd: number): void {
  parentOnlyFds.add(fd);
}

export function forkedChildrenMayKeep(fd: number): void {
  parentOnlyFds.delete(fd);
}

function markAllMappingsForkable(): void {
  const maps = readFileSync('/proc/self/maps', 'latin1');
  let start = 0;
  while (start < maps.length) {
    let end = maps.indexOf('\n', start);
    if (end < 0) end = maps.length;
    const dash = maps.indexOf('-', start);
    const space = maps.indexOf(' ', dash);
    if (dash > start && space > dash && space < end) {
      const from = BigInt('0x' + maps.slice(start, dash));
      const to = BigInt('0x' + maps.slice(dash + 1, space));
      madvise(from, to - from, MADV_DOFORK); // errors (e.g. on [vsyscall]) do not matter
    }
    start = end + 1;
  }
}

/**
 * smaps is read into this off-heap buffer, never into a JS string: a ~100 KB
 * string is itself allocated on V8's heap, can make V8 map a new DONTFORK
 * page after the fork, and the check then finds its own string (measured:
 * most forks into a new pid namespace failed that way once libseccomp was loaded).
 */
let smaps = Buffer.alloc(0);

/** Lets the GC take the smaps buffer (1 MiB) from a process that will fork no more. */
export function dropForkScratch(): void {
  smaps = Buffer.alloc(0);
}

function someMappingStillDontfork(): boolean {
  const fd = openSync('/proc/self/smaps', 'r');
  let length = 0;
  try {
    for (;;) {
      if (length === smaps.length) smaps = Buffer.concat([smaps, Buffer.alloc(Math.max(smaps.length, 1 << 20))]);
      const n = readSync(fd, smaps, length, smaps.length - length, null);
      if (n === 0) break;
      length += n;
    }
  } finally {
    closeSync(fd);
  }
  for (let at = smaps.indexOf('VmFlags:'); at >= 0 && at < length; at = smaps.indexOf('VmFlags:', at + 1)) {
    const end = smaps.indexOf(10, at);
    const flags = smaps.subarray(at, end < 0 || end > length ? length : end);
    if (flags.indexOf(' dc') >= 0) return true;
  }
  return false;
}

/** V8's gc(), there when node runs with --expose-gc (the launcher passes it); looked up at each use, as the one a snapshot was built with is not this process's. */
const collectGarbage = (options: { type: 'minor' | 'major' }): void => (globalThis as { gc?: (o: typeof options) => void }).gc?.(options);

/**
 * A scavenge (under a millisecond) before the pass leaves the young
 * generation empty, so the few allocations between the pass and the check
 * after fork() do not set off the scavenge whose promotions map a new
 * DONTFORK page. Without it, every create's first fork was redone twice,
 * and the fork into a new pid namespace (which cannot be redone) failed
 * about one time in seven when little had run before it.
 */
function emptyNewSpace(): void {
  collectGarbage({ type: 'minor' });
}

/**
 * fork() for a Node process. Returns the child's pid in the parent and 0 in
 * the child. The child must only make synchronous calls and end with _exit.
 *
 * With `retry: false` (the first fork into a new pid namespace, whose death
 * would end the namespace) a child found unsafe after the fork is killed and
 * an error thrown instead of forking again.
 */
export function forkChild(options: { retry: boolean } = { retry: true }): number {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    emptyNewSpace();
    markAllMappingsForkable();
    // Checking before as well as after makes the after-check rarely fire,
    // which matters where a retry is impossible; where one is possible the
    // check after is enough (reading smaps costs about a millisecond).
    if (!options.retry && someMappingStillDontfork()) continue;
    const verdict = makePipe();
    const pid = rawFork();
    if (pid === 0) {
      closeFd(verdict.write);
      const answer = readFd(verdict.read, 1);
      if (answer.length !== 1 || answer[0] !== 0x67 /* 'g' */) exitNow(120);
      closeFd(verdict.read);
      for (const fd of parentOnlyFds) closeFd(fd);
      parentOnlyFds.clear();
      return 0;
    }
    closeFd(verdict.read);
    if (someMappingStillDontfork()) {
      sendSignal(pid, 9);
      waitPid(pid);
      closeFd(verdict.write);
      if (!options.retry) throw new Error('fork: the child may lack part of the heap (a GC ran during fork); try again');
      continue;
    }
    writeFd(verdict.write, 'g');
    closeFd(verdict.write);
    return pid;
  }
  throw new Error(`fork: heap could not be made forkable after ${MAX_ATTEMPTS} attempts`);
}
