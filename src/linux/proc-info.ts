// Reading /proc about a process: its start time (to tell a reused pid from
// the container's), whether it is alive, and waiting for it to go.
import { readFileSync, readlinkSync } from 'node:fs';
import { sleepMs } from './sleep';

export interface ProcStat {
  state: string;
  ppid: number;
  startTime: number;
}

export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], ppid: Number(fields[1]), startTime: Number(fields[19]) };
}

/** True when `pid` is a live (non-zombie) process that started at `startTime`. */
export function isSameLiveProcess(pid: number, startTime: number): boolean {
  const stat = readProcStat(pid);
  return stat !== null && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X';
}


/** Waits until `pid` is dead (gone or a zombie). Gives up after `timeoutMs`, returning false. */
export function waitUntilGone(pid: number, timeoutMs = 10000): boolean {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    const stat = readProcStat(pid);
    if (stat === null || stat.state === 'Z' || stat.state === 'X') return true;
    if (Date.now() > deadline) return false;
    sleepMs(delay);
  }
}

/**
 * This process' pid in the runtime's pid namespace: before the root switch
 * the host's /proc is still mounted, and its "self" link says it even for a
 * process that is pid 1 of a new pid namespace.
 */
export function hostPidOfSelf(): number {
  // 0 when /proc is not the host's; process.pid would be no answer: in a
  // forked child it still holds the parent's pid.
  try {
    return Number(readlinkSync('/proc/self')) || 0;
  } catch {
    return 0;
  }
}
