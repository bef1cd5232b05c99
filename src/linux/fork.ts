// Forking a Node process so that the child can go on running JavaScript.
// docs/architecture.md §6 has the measurements behind each rule here:
//  - V8 marks its heap MADV_DONTFORK, so every mapping is flipped to
//    MADV_DOFORK before fork() or the child has no heap;
//  - a GC during that pass can map new DONTFORK pages, so after fork() the
//    parent compares its own maps with the child's (and, where they differ,
//    reads smaps for a range still marked `dc`); if the child may lack
//    memory, it is killed and the fork made again. The child waits on a pipe
//    for the verdict.
import { readlinkSync } from 'node:fs';
import { madvise, MADV_DOFORK } from './memory';
import { makePipe, readFd, writeFd, closeFd } from './fd';
import { rawFork, exitNow, waitPid, currentPid } from './proc';
import { FIRST_SIZE, ProcFileBuffer, smapsHasDontforkRange } from './proc-maps';
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

/**
 * What the checks read goes into buffers off V8's heap: a ~100 KB string is
 * itself allocated on V8's heap, can make V8 map a new DONTFORK page after
 * the fork, and the check then finds its own string (measured: most forks
 * into a new pid namespace failed that way once libseccomp was loaded).
 */
const scratch = {
  /** This process's maps as the DOFORK pass read them. */
  passed: new ProcFileBuffer(),
  /** This process's maps, read again: before the fork, and after it. */
  own: new ProcFileBuffer(),
  child: new ProcFileBuffer(),
  /** Only where the child's maps cannot be read (see childMayLackMemory). */
  smaps: new ProcFileBuffer(),
};

/** Checks that had to read smaps (see childMayLackMemory). */
let smapsReads = 0;

/** Lets the GC take the scratch buffers from a process that will fork no more. */
export function dropForkScratch(): void {
  for (const file of Object.values(scratch)) file.drop();
}

function markAllMappingsForkable(): void {
  scratch.passed.readOrThrow('/proc/self/maps');
  const maps = scratch.passed.text();
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
 * A mapping made or split during the pass (by a GC) may be DONTFORK: the
 * maps then differ from what the pass read. The pass itself can merge
 * ranges it made alike, so the first fork of a process may see a change
 * once; the next pass reads the merged list.
 */
function mappingsChangedSincePass(): boolean {
  return !scratch.own.read('/proc/self/maps') || !scratch.own.sameAs(scratch.passed);
}

/**
 * Whether the child, just forked and blocked on its verdict pipe, may lack
 * part of this process's memory. fork() copies every mapping but the
 * DONTFORK ones, so a child whose maps read the same as this process's
 * lacks none. Two maps files cost ~0.5 ms; smaps, which walks every page
 * for its counters, 1.5-3.5 ms after a fork: it decides only when the two
 * differ (either side mapped something since the fork), when the child's
 * maps cannot be read (a non-dumpable parent in a user namespace), or when
 * /proc is not of this pid namespace.
 */
export function childMayLackMemory(pid: number): boolean {
  if (scratch.own.read('/proc/self/maps') && procShowsThisPidNamespace() && scratch.child.read(`/proc/${pid}/maps`) && scratch.child.sameAs(scratch.own)) {
    return false;
  }
  smapsReads++;
  scratch.smaps.readOrThrow('/proc/self/smaps');
  return smapsHasDontforkRange(scratch.smaps);
}

/** How many checks this process has had to read smaps for (the maps of parent and child differed, or could not be read). */
export function smapsReadCount(): number {
  return smapsReads;
}

/** /proc numbers processes as fork() does here only if it is this pid namespace's. */
function procShowsThisPidNamespace(): boolean {
  try {
    return readlinkSync('/proc/self') === String(currentPid());
  } catch {
    return false;
  }
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
  // The buffers read after the fork, grown now: growing one then would
  // move the end of this process's [heap] (malloc), and its maps would
  // then differ from the child's, sending every first fork to smaps.
  for (const file of [scratch.own, scratch.child]) file.reserve(Math.max(FIRST_SIZE, scratch.passed.buffer.length));
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    emptyNewSpace();
    markAllMappingsForkable();
    // Checking before as well as after makes the after-check rarely fire,
    // which matters where a retry is impossible; where one is possible the
    // check after is enough.
    if (!options.retry && mappingsChangedSincePass()) continue;
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
    if (childMayLackMemory(pid)) {
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
