// Mounting each config.json `mounts` entry inside the rootfs (run by the
// container init, in its own mount namespace, before pivot_root).
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, statSync, symlinkSync } from 'node:fs';
import { dirname, isAbsolute, posix, resolve } from 'node:path';
import type { Mount } from '../../spec/types';
import { mountFs, currentMountFlags } from '../../linux/mount';
import { BIND_REMOUNT_FLAGS, MS, parseMountOptions, type ParsedMountOptions } from '../../linux/mount-options';
import { AT_RECURSIVE, MOUNT_ATTR, mountSetattr, type MountAttr } from '../../linux/mount-api';
import { ConfigError, SyscallError, configError, onPath } from '../../errors';
import { closeFd, openFd, O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY } from '../../linux/fd';
import { copyDirectoryContents } from './copy-tree';
import { secureJoin } from './secure-join';
import { moveMount, MOVE_MOUNT_T_SYMLINKS } from '../../linux/mount-api';
import { checkProcMount } from '../plan/security';

export interface MountContext {
  rootfs: string;
  bundle: string;
  /**
   * The container has a cgroup namespace of its own: a `cgroup` mount is a
   * cgroup filesystem rooted at its cgroup. Without one (false), it gets its
   * own cgroup directories bound in, as runc does.
   */
  cgroupNamespace?: boolean;
  /** SELinux context for the filesystems mounted (linux.mountLabel). */
  mountLabel?: string;
  /** The container's cgroup directories on the host, by hierarchy name (cgroupDirsOfThisProcess). */
  cgroupHostDirs?: Record<string, string>;
  /** mounts[] index -> fd of the detached idmapped copy the runtime made of that bind's source. */
  idmappedMountFds?: Record<number, number>;
}

/**
 * Mounts `entry`, the config's mounts[index]. A failure names the entry's
 * pointer and its destination as written, never the host or /proc/self/fd
 * path the kernel was handed.
 */
export function mountEntry(entry: Mount, ctx: MountContext, index: number): void {
  try {
    mountEntryAt(entry, ctx, index);
  } catch (err) {
    // A ConfigError names its own field already (checkProcMount's destination).
    if (err instanceof ConfigError) throw err;
    throw configError(`/mounts/${index}`, (err as Error).message, err);
  }
}

function mountEntryAt(entry: Mount, ctx: MountContext, index: number): void {
  const options = parseMountOptions(entry.options);
  const dest = entry.destination;
  const isBind = entry.type === 'bind' || (options.flags & MS.BIND) !== 0;
  if (isBind && options.copySymlink && copySymlinkSource(entry, ctx, index)) return;
  const target = secureJoin(ctx.rootfs, dest);
  // The parent checked the configured path; a symlink in the image (or an
  // earlier mount) may still lead it into /proc.
  checkProcMount(entry, index, containerPath(ctx.rootfs, target));
  if (isBind) {
    bindMount(entry, options, target, ctx, ctx.idmappedMountFds?.[index]);
  } else if (entry.type === 'cgroup') {
    onPath(dest, () => mkdirSync(target, { recursive: true }));
    mountCgroupTree(options, target, dest, ctx.cgroupNamespace ?? true, ctx.cgroupHostDirs);
  } else {
    onPath(dest, () => mkdirSync(target, { recursive: true }));
    const type = entry.type ?? 'none';
    const data = withMountLabel(type, options.data, ctx.mountLabel).join(',');
    const source = entry.source ?? type;
    if (options.tmpcopyup) mountCopyingUp(ctx.rootfs, target, dest, (at) => mountFs(source, at, type, options.flags & ~MS.RDONLY, data, dest), options.flags);
    else onPinnedTarget(ctx.rootfs, target, (at) => mountFs(source, at, type, options.flags, data, dest), dest);
  }
  const recursive = options.recursive;
  if (recursive) onPinnedTarget(ctx.rootfs, target, (at) => setRecursiveAttrs(at, recursive, dest), dest);
  for (const propagation of options.propagation) onPinnedTarget(ctx.rootfs, target, (at) => mountFs('', at, '', propagation, '', dest), dest);
}

/** `idmappedFd`: the runtime's idmapped copy of the source, attached instead of a new bind. */
function bindMount(entry: Mount, options: ParsedMountOptions, target: string, ctx: MountContext, idmappedFd?: number): void {
  const dest = entry.destination;
  const source = entry.source ?? '';
  const sourcePath = isAbsolute(source) ? source : resolve(ctx.bundle, source);
  const sourceIsDir = onPath(source, () => statSync(sourcePath)).isDirectory();
  createMountpoint(target, dest, sourceIsDir);
  if (idmappedFd === undefined) {
    onPinnedTarget(ctx.rootfs, target, (at) => mountFs(sourcePath, at, 'bind', options.flags & (MS.BIND | MS.REC), '', dest), dest);
  } else {
    try {
      onPinnedTarget(ctx.rootfs, target, (at) => moveMount(idmappedFd, null, at, MOVE_MOUNT_T_SYMLINKS, dest), dest);
    } finally {
      closeFd(idmappedFd);
    }
  }
  if ((options.flags & BIND_REMOUNT_FLAGS) !== 0 || options.cleared !== 0) {
    onPinnedTarget(ctx.rootfs, target, (at) => remountBind(at, options.flags & BIND_REMOUNT_FLAGS, dest), dest);
  }
}

/** `path`, a host path inside `rootfs`, as the container sees it. */
function containerPath(rootfs: string, path: string): string {
  return path === rootfs ? '/' : path.slice(rootfs.length);
}

/**
 * Mounts onto the object `target` names *now*: it is opened without
 * following a final symlink, its real path checked to be inside the rootfs,
 * and the mount made through /proc/self/fd/N. A symlink swapped into the
 * path after secureJoin resolved it (CVE-2021-30465 class) then cannot
 * redirect the mount onto the host. `shown` is the target in messages (the
 * container path; `mount` gets the /proc/self/fd/N alias and names `shown` itself).
 */
export function onPinnedTarget(rootfs: string, target: string, mount: (at: string) => void, shown = containerPath(rootfs, target)): void {
  const fd = openPinned(rootfs, target, O_PATH, shown);
  try {
    mount(`/proc/self/fd/${fd}`);
  } finally {
    closeFd(fd);
  }
}

/** Opens `target` with `flags` (plus O_NOFOLLOW) and checks it is still inside the rootfs: see onPinnedTarget. */
function openPinned(rootfs: string, target: string, flags: number, shown: string): number {
  const fd = onPath(shown, () => openFd(target, flags | O_NOFOLLOW | O_CLOEXEC));
  try {
    // O_NOFOLLOW opens a final symlink itself; mounting through its fd would follow it.
    if (fstatSync(fd).isSymbolicLink()) throw new Error(`mount target ${shown} became a symbolic link: refused`);
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    if (real !== rootfs && !real.startsWith(rootfs + '/')) {
      throw new Error(`mount target ${shown} resolves to ${real}, outside the container's rootfs: refused`);
    }
    return fd;
  } catch (err) {
    closeFd(fd);
    throw err;
  }
}

/**
 * tmpcopyup: `mount` puts a new (writable) tmpfs on the directory `target`,
 * which then gets the files the directory held. The old directory is opened
 * before the mount: through that descriptor its contents stay reachable
 * once covered. A read-only mount is made so only after the copy, as runc does.
 */
function mountCopyingUp(rootfs: string, target: string, dest: string, mount: (at: string) => void, flags: number): void {
  const covered = openPinned(rootfs, target, O_RDONLY | O_DIRECTORY, dest);
  try {
    mount(`/proc/self/fd/${covered}`);
    onPinnedTarget(rootfs, target, (at) => {
      copyDirectoryContents(`/proc/self/fd/${covered}`, at, dest);
      if (flags & MS.RDONLY) mountSetattr(null, at, 0, { set: MOUNT_ATTR.RDONLY, clear: 0 }, dest);
    }, dest);
  } finally {
    closeFd(covered);
  }
}

/**
 * The recursive options (rro, rnosuid...): one mount_setattr(2) on the mount
 * at `at` and every mount below it, all or none.
 */
function setRecursiveAttrs(at: string, attr: MountAttr, shown: string): void {
  try {
    mountSetattr(null, at, AT_RECURSIVE, attr, shown);
  } catch (err) {
    // Flags a less privileged mount namespace inherited are locked (mount_namespaces(7)).
    if (err instanceof SyscallError && err.errnoName === 'EPERM') {
      throw new Error(`${err.message}: a recursive option would clear or change a flag that is locked on a mount below ${shown} (set by the host for a user namespace)`);
    }
    throw err;
  }
}

/**
 * copy-symlink (crun's extension, podman's `no-dereference`): when the
 * bind's source is a symbolic link, the same link is made at the
 * destination instead of binding what it points to. Returns false when the
 * source is no link (an ordinary bind follows). A link already there with the
 * same target is accepted; anything else there is an error.
 */
function copySymlinkSource(entry: Mount, ctx: MountContext, index: number): boolean {
  const source = entry.source ?? '';
  const sourcePath = isAbsolute(source) ? source : resolve(ctx.bundle, source);
  if (!onPath(source, () => lstatSync(sourcePath)).isSymbolicLink()) return false;
  const linkText = onPath(source, () => readlinkSync(sourcePath));
  const dest = entry.destination;
  const parentDest = posix.dirname(dest);
  const parent = secureJoin(ctx.rootfs, parentDest);
  const name = posix.basename(dest);
  checkProcMount(entry, index, posix.join(containerPath(ctx.rootfs, parent), name));
  onPath(parentDest, () => mkdirSync(parent, { recursive: true }));
  onPinnedTarget(ctx.rootfs, parent, (at) => {
    const link = `${at}/${name}`;
    try {
      symlinkSync(linkText, link);
    } catch (err) {
      const same = (err as NodeJS.ErrnoException).code === 'EEXIST' && lstatSync(link).isSymbolicLink() && readlinkSync(link) === linkText;
      if (!same) throw new Error(`copy-symlink: cannot make ${dest} a link to ${linkText}: ${(err as NodeJS.ErrnoException).code === 'EEXIST' ? 'something else is there' : (err as Error).message}`);
    }
  }, parentDest);
  return true;
}

/** A bind mount takes its flags only from a second, MS_REMOUNT call. `shown` names the target in errors. */
export function remountBind(target: string, flags: number, shown = target): void {
  const base = MS.BIND | MS.REMOUNT;
  try {
    mountFs('', target, '', base | flags, '', shown);
  } catch (err) {
    // In a user namespace the flags the source mount carries are locked and
    // must be repeated; retry with them added.
    if (!(err instanceof SyscallError) || err.errnoName !== 'EPERM') throw err;
    mountFs('', target, '', base | flags | currentMountFlags(target, shown), '', shown);
  }
}

/** The directory, or the empty file, a bind mount goes on; `dest` is the container path for messages. */
function createMountpoint(target: string, dest: string, isDir: boolean): void {
  if (isDir) {
    onPath(dest, () => mkdirSync(target, { recursive: true }));
    return;
  }
  onPath(posix.dirname(dest), () => mkdirSync(dirname(target), { recursive: true }));
  try {
    statSync(target);
  } catch {
    onPath(dest, () => closeSync(openSync(target, 'a', 0o644)));
  }
}

interface CgroupHierarchy {
  /** Directory name under /sys/fs/cgroup, e.g. "cpu" or "unified". */
  name: string;
  fstype: 'cgroup' | 'cgroup2';
  /** The super options naming the controllers, e.g. "cpu,cpuacct" or "name=systemd". */
  controllers: string;
  /** Where the host mounts it, and the directory of the hierarchy that mount shows (mountinfo field 4). */
  mountPoint: string;
  mountRoot: string;
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/** The cgroup hierarchies mounted on the host (read before pivot_root). */
function hostCgroupHierarchies(): CgroupHierarchy[] {
  const found: CgroupHierarchy[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [, , , mountRoot, mountPoint] = line.slice(0, sep).split(' ');
    const [fstype, , superOptions] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    if (mountPoint === CGROUP_ROOT) return [{ name: '', fstype: 'cgroup2', controllers: '', mountPoint, mountRoot }];
    if (!mountPoint.startsWith(CGROUP_ROOT + '/')) continue;
    const controllers = superOptions
      .split(',')
      .filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent') && o !== 'clone_children')
      .join(',');
    found.push({ name: mountPoint.slice(CGROUP_ROOT.length + 1), fstype, controllers, mountPoint, mountRoot });
  }
  return found;
}

/**
 * The host directory of this process' own cgroup in hierarchy `h` (the init
 * is in the container's cgroup by now), from /proc/self/cgroup.
 */
function ownCgroupDir(h: CgroupHierarchy, procCgroup = readFileSync('/proc/self/cgroup', 'utf8')): string {
  const superOptions = h.controllers.split(',');
  for (const line of procCgroup.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, , list, path] = match;
    const matches = h.fstype === 'cgroup2' ? list === '' : list !== '' && list.split(',').every((c) => superOptions.includes(c));
    if (!matches) continue;
    const rel = h.mountRoot === '/' ? path : path.startsWith(h.mountRoot) ? path.slice(h.mountRoot.length) : path;
    return `${h.mountPoint}${rel === '/' ? '' : rel}`;
  }
  return h.mountPoint;
}

/**
 * Mounts hierarchy `h` on `dir`: a new cgroup filesystem with a cgroup
 * namespace, else a bind of the container's own cgroup directory (mounting
 * the filesystem would show the host's whole tree, and is refused in a user
 * namespace). A user namespace may be refused the new filesystem even with
 * a cgroup namespace (cgroup2 answers EBUSY to a rootless container on a
 * systemd host, measured in the project's VM): then the bind, as runc does.
 */
function mountHierarchy(h: CgroupHierarchy, dir: string, shown: string, flags: number, cgroupNamespace: boolean, hostDirs?: Record<string, string>): void {
  if (!cgroupNamespace) return bindCgroupDir(ownCgroupDir(h), dir, shown, flags);
  try {
    mountFs(h.fstype, dir, h.fstype, flags, h.controllers, shown);
  } catch (err) {
    // Inside the cgroup namespace /proc/self/cgroup says "/": stage 1 noted the host directory.
    const noted = hostDirs?.[h.name];
    const refused = err instanceof SyscallError && (err.errnoName === 'EPERM' || err.errnoName === 'EBUSY');
    if (!refused || noted === undefined) throw err;
    bindCgroupDir(noted, dir, shown, flags);
  }
}

function bindCgroupDir(source: string, dir: string, shown: string, flags: number): void {
  mountFs(source, dir, 'bind', MS.BIND | MS.REC, '', shown);
  remountBind(dir, flags & BIND_REMOUNT_FLAGS, shown);
}

/**
 * The host directory of this process' cgroup in each hierarchy, by the
 * name mountCgroupTree uses ('' for a unified host). Read by stage 1 once it
 * is in the container's cgroup and before any cgroup namespace, so that the
 * init, which may have to bind its cgroup instead of mounting one, knows
 * where it is (inside the namespace /proc/self/cgroup says "/").
 */
export function cgroupDirsOfThisProcess(): Record<string, string> {
  const procCgroup = readFileSync('/proc/self/cgroup', 'utf8');
  const dirs: Record<string, string> = {};
  for (const h of hostCgroupHierarchies()) dirs[h.name] = ownCgroupDir(h, procCgroup);
  return dirs;
}

/**
 * A `cgroup` mount shows the container the host's layout: one cgroup2 mount
 * on a unified host; a tmpfs holding one mount per v1 hierarchy otherwise.
 */
function mountCgroupTree(options: ParsedMountOptions, target: string, dest: string, cgroupNamespace: boolean, hostDirs?: Record<string, string>): void {
  const flags = options.flags & ~MS.RDONLY;
  const hierarchies = hostCgroupHierarchies();
  if (hierarchies.length === 1 && hierarchies[0].name === '') {
    mountHierarchy(hierarchies[0], target, dest, options.flags, cgroupNamespace, hostDirs);
    return;
  }
  mountFs('tmpfs', target, 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755', dest);
  for (const h of hierarchies) {
    const dir = `${target}/${h.name}`;
    const shown = posix.join(dest, h.name);
    onPath(shown, () => mkdirSync(dir, { recursive: true }));
    mountHierarchy(h, dir, shown, flags | (options.flags & MS.RDONLY), cgroupNamespace, hostDirs);
  }
  if (options.flags & MS.RDONLY) mountFs('', target, '', MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, '', dest);
}

/** Filesystems whose files take their SELinux label from the mount (runc labels the same). */
const LABELLED_TYPES = new Set(['tmpfs', 'mqueue', 'devpts', 'shm']);

/** The mount data with context="<label>" added where the filesystem takes one. */
export function withMountLabel(type: string, data: string[], label: string | undefined): string[] {
  if (!label || !LABELLED_TYPES.has(type) || data.some((d) => d.startsWith('context='))) return data;
  return [...data, `context="${label}"`];
}
