// The processes of a container that has no cgroup to list them (a rootless
// one where its user may not make one, or a state from before cgroups):
// those in the init's pid namespace when it has its own; when it shares the
// host's, only the init can be told apart safely.
import { readdirSync, readlinkSync } from 'node:fs';
import type { ContainerRecord } from './store';

/** Host pids, the init first. */
export function processesWithoutCgroup(record: ContainerRecord): number[] {
  const initPid = record.pid;
  const pidNs = record.privatePidNamespace ? pidNamespaceOf(initPid) : null;
  if (pidNs === null) return [initPid];
  const pids = [initPid];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === initPid) continue;
    if (pidNamespaceOf(Number(name)) === pidNs) pids.push(Number(name));
  }
  return pids;
}

function pidNamespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}
