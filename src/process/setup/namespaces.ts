// Joining namespaces given by path, for both stage 1s (create's, for
// linux.namespaces[].path; exec's, for the init's namespaces). Every file
// is opened before any namespace is joined, as runc's nsexec does: once in
// another user namespace the process has no privilege over the host's /proc,
// and the namespace files of a process that is not dumpable (a created
// container's waiting init) then refuse to open (EACCES); once in another
// mount namespace a path would resolve there.
import { joinNamespaceFd, type NamespaceKind } from '../../linux/namespaces';
import { becomeRootInNamespace } from '../../linux/proc';
import { closeFd, openFd, O_CLOEXEC, O_RDONLY } from '../../linux/fd';

export interface NamespaceToJoin {
  kind: NamespaceKind;
  path: string;
}

/** Opens every namespace file (close-on-exec), in the order given (user first). */
export function openNamespaces(join: NamespaceToJoin[]): number[] {
  return join.map((ns) => openFd(ns.path, O_RDONLY | O_CLOEXEC));
}

/**
 * Joins each opened namespace and closes its descriptor. The host's root is
 * nobody in a joined user namespace: files and mounts made there would
 * belong to an unmapped id (EOVERFLOW), so the process becomes the
 * namespace's root (keeping every capability there), as runc does.
 */
export function joinNamespaces(join: NamespaceToJoin[], fds: number[]): void {
  join.forEach((ns, i) => {
    joinNamespaceFd(ns.kind, fds[i], ns.path);
    closeFd(fds[i]);
    if (ns.kind === 'user') becomeRootInNamespace();
  });
}
