// Written by the parent for a stage-1 child that has just made a new user
// namespace: uid_map, gid_map, and setgroups where the kernel demands it.
// As runc does (docs/rootless-research.md §4): each map is first written
// directly; when the kernel refuses a user (any map but their own single
// id), the setuid helper newuidmap/newgidmap (Debian's uidmap package)
// writes it if /etc/subuid and /etc/subgid allow it, and its refusal is
// passed on.
import { writeFileSync } from 'node:fs';
import type { LinuxIDMapping, Spec } from '../../spec/types';
import { effectiveGid, effectiveUid } from '../../linux/proc';
import { configError } from '../../errors';
import { runMappingHelper } from './mapping-helper';

export function formatIdMap(maps: LinuxIDMapping[] = []): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

export function writeIdMappings(pid: number, spec: Spec): void {
  const gids = spec.linux?.gidMappings ?? [];
  // An unprivileged writer may map its own gid alone, and only once
  // setgroups is denied; newgidmap decides setgroups for any other map.
  if (effectiveUid() !== 0 && isOwnIdAlone(gids, effectiveGid())) writeProcFile(pid, 'setgroups', 'deny');
  writeMap(pid, 'uid', spec.linux?.uidMappings ?? []);
  writeMap(pid, 'gid', gids);
}

/** Exactly one mapping, of size 1, to `hostId`. */
export function isOwnIdAlone(maps: LinuxIDMapping[], hostId: number): boolean {
  return maps.length === 1 && maps[0].hostID === hostId && maps[0].size === 1;
}

function writeMap(pid: number, kind: 'uid' | 'gid', maps: LinuxIDMapping[]): void {
  try {
    writeFileSync(`/proc/${pid}/${kind}_map`, formatIdMap(maps));
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    if (code !== 'EPERM') throw configError(`/linux/${kind}Mappings`, `the kernel refused the map: write /proc/${pid}/${kind}_map: ${code}`);
  }
  const failure = runMappingHelper(`new${kind}map`, pid, maps);
  if (failure !== undefined) throw configError(`/linux/${kind}Mappings`, failure);
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
