// Whose files a `--rootless` bundle's rootfs holds, and the id mappings its
// config.json gets. The user's own uid/gid become the container's root (as
// `tsrun spec --rootless`); when /etc/subuid and /etc/subgid give the user a
// range and Debian's newuidmap/newgidmap are there, that range becomes the
// container's ids 1..N, so an image's other owners (a daemon's uid 100, say)
// keep their own ids inside. Unprivileged, owners in that range can only be
// set from inside a user namespace with the same map: the bundle command
// then runs its unpacking there (`unshare`), where ids are container ids.
import { existsSync, readFileSync } from 'node:fs';
import type { LinuxIDMapping } from '../spec/types';
import type { OwnerMapping } from './types';

/** The most subordinate ids taken from one range (what podman gives a user by default). */
const MAX_SUBORDINATE = 65536;

export interface RootlessIds {
  uidMappings: LinuxIDMapping[];
  gidMappings: LinuxIDMapping[];
}

/** The first range of `user` (name or uid) in an /etc/subuid-style text: [start, count], or null. */
export function subordinateRange(text: string, user: string, uid: number): [number, number] | null {
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if ((owner === user || owner === String(uid)) && /^\d+$/.test(start ?? '') && /^\d+$/.test(count ?? '') && Number(count) > 0) {
      return [Number(start), Number(count)];
    }
  }
  return null;
}

function mappingsFor(ownId: number, range: [number, number] | null): LinuxIDMapping[] {
  const maps: LinuxIDMapping[] = [{ containerID: 0, hostID: ownId, size: 1 }];
  if (range !== null) maps.push({ containerID: 1, hostID: range[0], size: Math.min(range[1], MAX_SUBORDINATE) });
  return maps;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function mappingHelpersPresent(): boolean {
  return ['newuidmap', 'newgidmap'].every((h) => ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].some((d) => existsSync(`${d}/${h}`)));
}

/**
 * The mappings for a rootless bundle of the user `uid`/`gid` named `user`:
 * their own ids as root, plus their subordinate ranges when both ranges and
 * both helpers exist (a map needs newuidmap and newgidmap alike).
 */
export function rootlessIds(uid: number, gid: number, user: string, files = { subuid: '/etc/subuid', subgid: '/etc/subgid' }, helpers = mappingHelpersPresent()): RootlessIds {
  const uids = helpers ? subordinateRange(readOrEmpty(files.subuid), user, uid) : null;
  const gids = helpers ? subordinateRange(readOrEmpty(files.subgid), user, uid) : null;
  const both = uids !== null && gids !== null;
  return { uidMappings: mappingsFor(uid, both ? uids : null), gidMappings: mappingsFor(gid, both ? gids : null) };
}

function mapId(maps: LinuxIDMapping[], id: number): number | null {
  for (const m of maps) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + id - m.containerID;
  return null;
}

/**
 * Host owners for container owners through `uid`/`gid` mappings. An id the
 * mappings leave out goes to the container's root, as umoci's rootless
 * unpacking gives every file to the user: it would otherwise show as the
 * overflow id (nobody) inside, owned by no one who can change it.
 */
export function ownersThrough(uidMaps: LinuxIDMapping[], gidMaps: LinuxIDMapping[]): OwnerMapping {
  const rootUid = mapId(uidMaps, 0) ?? uidMaps[0].hostID;
  const rootGid = mapId(gidMaps, 0) ?? gidMaps[0].hostID;
  return { map: (uid, gid) => ({ uid: mapId(uidMaps, uid) ?? rootUid, gid: mapId(gidMaps, gid) ?? rootGid }) };
}

/** Identity within [0, size): how owners are set from inside a user namespace of that many ids. */
export function ownersInsideNamespace(ids: RootlessIds): OwnerMapping {
  const view = (maps: LinuxIDMapping[]): LinuxIDMapping[] => maps.map((m) => ({ ...m, hostID: m.containerID }));
  return ownersThrough(view(ids.uidMappings), view(ids.gidMappings));
}
