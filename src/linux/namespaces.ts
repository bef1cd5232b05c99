// unshare(2) and setns(2), and the clone flag of every namespace type.
import { check, libc } from './libc';
import { openFd, closeFd, O_RDONLY, O_CLOEXEC } from './fd';

const c = {
  unshare: libc.func('int unshare(int flags)'),
  setns: libc.func('int setns(int fd, int nstype)'),
};

export type NamespaceKind = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export const CLONE_FLAG: Record<NamespaceKind, number> = {
  time: 0x00000080,
  mount: 0x00020000,
  cgroup: 0x02000000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  network: 0x40000000,
};

/** The name of each kind under /proc/<pid>/ns/. */
export const PROC_NS_NAME: Record<NamespaceKind, string> = {
  time: 'time',
  mount: 'mnt',
  cgroup: 'cgroup',
  uts: 'uts',
  ipc: 'ipc',
  user: 'user',
  pid: 'pid',
  network: 'net',
};

export function unshareNamespaces(kinds: NamespaceKind[]): void {
  if (kinds.length === 0) return;
  const flags = kinds.reduce((acc, k) => acc | CLONE_FLAG[k], 0);
  check(c.unshare(flags) as number, 'unshare', kinds.join(','));
}

/** setns(2) on an open namespace descriptor, checking it is of the expected kind. */
export function joinNamespaceFd(kind: NamespaceKind, fd: number, describe: string): void {
  check(c.setns(fd, CLONE_FLAG[kind]) as number, 'setns', `${kind} ${describe}`);
}

/** Joins the namespace at `path`, checking it is of the expected kind. */
export function joinNamespace(kind: NamespaceKind, path: string): void {
  const fd = openFd(path, O_RDONLY | O_CLOEXEC);
  try {
    check(c.setns(fd, CLONE_FLAG[kind]) as number, 'setns', `${kind} ${path}`);
  } finally {
    closeFd(fd);
  }
}
