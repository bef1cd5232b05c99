// Written by the parent for a stage-1 child that has just made a new user
// namespace: uid_map, gid_map, and setgroups where the kernel demands it.
import { writeFileSync } from 'node:fs';
import type { LinuxIDMapping, Spec } from '../../spec/types';
import { effectiveUid } from '../../linux/proc';

export function formatIdMap(maps: LinuxIDMapping[] = []): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

export function writeIdMappings(pid: number, spec: Spec): void {
  // Without CAP_SETGID in the parent namespace the kernel accepts a gid_map
  // only once setgroups is denied.
  if (effectiveUid() !== 0) writeProcFile(pid, 'setgroups', 'deny');
  writeProcFile(pid, 'uid_map', formatIdMap(spec.linux?.uidMappings));
  writeProcFile(pid, 'gid_map', formatIdMap(spec.linux?.gidMappings));
}

function writeProcFile(pid: number, name: string, content: string): void {
  try {
    writeFileSync(`/proc/${pid}/${name}`, content);
  } catch (err) {
    throw new Error(`write /proc/${pid}/${name}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** Time namespace offsets, written by the process that unshared it, before any child. */
export function formatTimeOffsets(spec: Spec): string {
  const offsets = spec.linux?.timeOffsets ?? {};
  return Object.entries(offsets)
    .map(([clock, o]) => `${clock} ${o?.secs ?? 0} ${o?.nanosecs ?? 0}\n`)
    .join('');
}
