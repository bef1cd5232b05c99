// Idmapped bind mounts, made by the runtime before it forks stage 1.
//
// The kernel gives a mount an id mapping only when the caller has
// CAP_SYS_ADMIN in the user namespace that owns the mount's filesystem (the
// host's, for a host directory) and the mount is a detached copy not yet
// attached anywhere. The container's init, root of its own user namespace,
// has neither right over a host filesystem; so, as in runc, the runtime
// (host root) makes each detached copy, maps it, and the init inherits the
// fds through the forks and only attaches them (move_mount, allowed to the
// owner of its mount namespace): rootfs/mounts.ts.
import { AT_EMPTY_PATH, AT_RECURSIVE, MOUNT_ATTR, mountSetattr, OPEN_TREE_CLOEXEC, OPEN_TREE_CLONE, openTree } from '../../linux/mount-api';
import { closeFd, openFd, O_CLOEXEC, O_RDONLY } from '../../linux/fd';
import { ConfigError, SyscallError, configError } from '../../errors';
import { idmapPointer, mappingKey, type IdmapSource, type IdmappedMountPlan } from '../plan/idmapped-mounts';
import type { Spec } from '../../spec/types';
import { userNamespaceWithMappings } from './mapping-userns';

/** mounts[] index -> fd of its detached, idmapped copy. */
export type IdmappedMountFds = Record<number, number>;

/**
 * The detached idmapped copy of every planned mount. On failure every fd
 * made so far is closed (a detached mount goes with its last fd) and the
 * error names the mount's pointer.
 */
export function makeIdmappedMounts(spec: Spec, planned: IdmappedMountPlan[]): IdmappedMountFds {
  const fds: IdmappedMountFds = {};
  const namespaces = new Map<string, number>();
  try {
    for (const mount of planned) {
      try {
        fds[mount.index] = makeIdmappedMount(mount, usernsFor(mount.userns, namespaces));
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        throw configError(idmapPointer(spec.mounts![mount.index], mount.index), (err as Error).message, err);
      }
    }
    return fds;
  } catch (err) {
    closeIdmappedMounts(fds);
    throw err;
  } finally {
    // Each mapped mount holds its own reference to its user namespace.
    for (const fd of namespaces.values()) closeFd(fd);
  }
}

export function closeIdmappedMounts(fds: IdmappedMountFds): void {
  for (const fd of Object.values(fds)) closeFd(fd);
}

/** One user namespace per distinct set of mappings. */
function usernsFor(source: IdmapSource, made: Map<string, number>): number {
  const key = mappingKey(source);
  let fd = made.get(key);
  if (fd === undefined) {
    fd = source.kind === 'namespace' ? openFd(source.path, O_RDONLY | O_CLOEXEC) : userNamespaceWithMappings(source.uidMappings, source.gidMappings);
    made.set(key, fd);
  }
  return fd;
}

function makeIdmappedMount(mount: IdmappedMountPlan, usernsFd: number): number {
  const treeFd = openTree(null, mount.source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (mount.recursiveTree ? AT_RECURSIVE : 0));
  try {
    const flags = AT_EMPTY_PATH | (mount.recursiveIdmap ? AT_RECURSIVE : 0);
    mountSetattr(treeFd, '', flags, { set: MOUNT_ATTR.IDMAP, clear: 0, usernsFd }, mount.source);
    return treeFd;
  } catch (err) {
    closeFd(treeFd);
    // The kernel's answer for a filesystem without FS_ALLOW_IDMAP (or one that turned it off).
    if (err instanceof SyscallError && err.call === 'mount_setattr' && err.errnoName === 'EINVAL') {
      throw new Error(`the filesystem of ${mount.source} does not support idmapped mounts (${err.message})`);
    }
    throw err;
  }
}
