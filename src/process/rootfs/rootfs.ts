// The container's root filesystem, built by the init in its own mount
// namespace: propagation, the rootfs bind, the config's mounts, /dev, then
// pivot_root (or chroot with --no-pivot) and the read-only remount.
import { readFileSync, mkdirSync } from 'node:fs';
import type { Spec } from '../../spec/types';
import { mountFs, pivotRoot, changeRoot, unmount, MNT_DETACH } from '../../linux/mount';
import { changeDir } from '../../linux/proc';
import { MS, propagationFlag } from '../../linux/mount-options';
import { mountEntry, remountBind } from './mounts';
import { createDevices, createDevLinks } from './devices';
import { secureJoin } from './secure-join';
import { configError, onPath } from '../../errors';

export interface RootfsPlan {
  spec: Spec;
  rootfs: string;
  bundle: string;
  noPivot: boolean;
  inUserNamespace: boolean;
  /** False: we are in the runtime's own mount namespace and must not touch propagation. */
  hasMountNamespace: boolean;
  /** linux.mountLabel, present only when the host runs SELinux (as runc, it is ignored otherwise). */
  mountLabel?: string;
  /** See ContainerPlan.cgroupHostDirs. */
  cgroupHostDirs?: Record<string, string>;
  /** See ContainerPlan.idmappedMountFds. */
  idmappedMountFds?: Record<number, number>;
}

/** Everything up to the switch into the new root (the create hooks run between the two). */
export function prepareRootfs(plan: RootfsPlan): void {
  const { spec, rootfs } = plan;
  const rootPropagation = spec.linux?.rootfsPropagation;
  if (plan.hasMountNamespace) {
    mountFs('', '/', '', rootPropagation ? (propagationFlag(rootPropagation) as number) | MS.REC : MS.SLAVE | MS.REC);
    makeParentMountPrivate(rootfs);
  }
  mountFs(rootfs, rootfs, 'bind', MS.BIND | MS.REC);
  const mounts = spec.mounts ?? [];
  const cgroupNamespace = (spec.linux?.namespaces ?? []).some((ns) => ns.type === 'cgroup');
  const mountLabel = plan.mountLabel;
  const ctx = { rootfs, bundle: plan.bundle, cgroupNamespace, mountLabel, cgroupHostDirs: plan.cgroupHostDirs, idmappedMountFds: plan.idmappedMountFds };
  mounts.forEach((entry, i) => mountEntry(entry, ctx, i));
  if (!bindsHostDev(spec)) {
    createDevices(rootfs, spec.linux?.devices, plan.inUserNamespace);
    createDevLinks(rootfs, mounts.some((m) => m.destination === '/dev/pts' && m.type === 'devpts'));
  }
  const cwd = spec.process?.cwd;
  if (cwd) makeWorkingDir(rootfs, cwd);
}

/** The process' cwd, made if missing; a failure names /process/cwd and the path as written. */
function makeWorkingDir(rootfs: string, cwd: string): void {
  try {
    onPath(cwd, () => mkdirSync(secureJoin(rootfs, cwd), { recursive: true, mode: 0o755 }));
  } catch (err) {
    throw configError('/process/cwd', (err as Error).message, err);
  }
}

export function switchRoot(plan: RootfsPlan): void {
  if (plan.noPivot) switchByChroot(plan.rootfs);
  else switchByPivot(plan.rootfs);
}

/** After the switch: the propagation the config asked for, and a read-only root. */
export function finishRootfs(spec: Spec): void {
  const rootPropagation = spec.linux?.rootfsPropagation;
  if (rootPropagation) mountFs('', '/', '', propagationFlag(rootPropagation) as number);
  if (spec.root?.readonly) remountBind('/', MS.RDONLY);
}

function bindsHostDev(spec: Spec): boolean {
  return (spec.mounts ?? []).some(
    (m) => m.destination === '/dev' && (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')),
  );
}

function switchByPivot(rootfs: string): void {
  changeDir(rootfs);
  pivotRoot('.', '.');
  // The old root now sits under the new one; keep our unmount from
  // propagating to the host, then detach it.
  mountFs('', '.', '', MS.SLAVE | MS.REC);
  unmount('.', MNT_DETACH);
  changeDir('/');
}

function switchByChroot(rootfs: string): void {
  changeDir(rootfs);
  changeRoot('.');
  changeDir('/');
}

/**
 * pivot_root refuses a new root whose parent mount is shared; make the mount
 * that holds the rootfs private (in this namespace only).
 */
function makeParentMountPrivate(rootfs: string): void {
  let best = '/';
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (!mountPoint) continue;
    const inside = rootfs === mountPoint || rootfs.startsWith(mountPoint === '/' ? '/' : mountPoint + '/');
    if (inside && mountPoint.length > best.length) best = mountPoint;
  }
  mountFs('', best, '', MS.PRIVATE);
}
