// Where in a container's root a file like /etc/hosts can be bind-mounted, as
// the container's mount namespace sees it at createRuntime hook time (its
// config mounts made, root not yet switched), and making that mount point
// when the image lacks it.
//
// The path is walked through /proc/<pid>/root, the container init's view of
// the mount tree, so a config mount over /etc or /run counts; symlinks in the
// image are followed inside the rootfs only (secureJoin), so a link such as
// /etc/hosts -> /etc/shadow or ../../../root/x can never lead a mount, or the
// empty file made for one, out onto the host.
import { lchownSync, closeSync, fchmodSync, lstatSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError, syscallErrorOn } from '../errors';
import { secureJoin } from '../process/rootfs/secure-join';

export interface MountPoint {
  /** The container path asked for, e.g. /etc/hosts. */
  containerPath: string;
  /** The mount target: `<rootfs>/<path with the image's symlinks resolved>`, valid in the container's mount namespace. */
  target: string;
  /** The same place reached from this process, through `view`. */
  access: string;
  /** False: nothing is there yet; createMountPoint makes an empty file. */
  exists: boolean;
}

/**
 * Resolves `containerPath` in `rootfs` as seen through `view` (a
 * /proc/<pid>/root, or '' for this process' own view). An existing target
 * must be a regular file: a directory or device could not take a file bind.
 */
export function findMountPoint(view: string, rootfs: string, containerPath: string): MountPoint {
  const base = view + rootfs;
  const access = secureJoin(base, containerPath);
  const inRoot = access.slice(base.length);
  const target = rootfs + inRoot;
  if (inRoot === '') throw new UserError(`${rootfs}${containerPath}: resolves to the rootfs itself, not a file`);
  let exists = true;
  try {
    const stat = lstatSync(access);
    if (!stat.isFile()) throw new UserError(`${target}: not a regular file, so the container's ${containerPath} cannot be bind-mounted onto it`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw wrapped(err, `the mount point for the container's ${containerPath}`, target);
    exists = false;
  }
  return { containerPath, target, access, exists };
}

/**
 * Makes a missing mount point: its directories (0755) and an empty file
 * (0644), owned like the directory they are made in (the rootfs of a
 * user-namespaced container belongs to its mapped root). Returns how to
 * remove what was made.
 */
export function createMountPoint(point: MountPoint): () => void {
  // The outermost thing made: removing it removes everything made.
  let made: string | undefined;
  try {
    made = mkdirSync(dirname(point.access), { recursive: true, mode: 0o755 });
    if (made !== undefined) ownLikeParent(made);
    const fd = openNew(point.access);
    // Another container of the same rootfs made it meanwhile (containers
    // created at once from one bundle): theirs to keep, and it will do.
    if (fd === null) return () => undefined;
    made ??= point.access;
    try {
      fchmodSync(fd, 0o644); // whatever the umask
    } finally {
      closeSync(fd);
    }
    ownLikeParent(point.access);
  } catch (err) {
    if (made !== undefined) rmSync(made, { recursive: true, force: true });
    throw wrapped(err, `creating the mount point for the container's ${point.containerPath}`, point.target);
  }
  const outermost = made;
  return () => rmSync(outermost, { recursive: true, force: true });
}

/** A new empty file's descriptor; null when a regular file is already there. */
function openNew(path: string): number | null {
  try {
    return openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' && lstatSync(path).isFile()) return null;
    throw err;
  }
}

function ownLikeParent(path: string): void {
  const parent = statSync(dirname(path));
  lchownSync(path, parent.uid, parent.gid);
}

/** One line naming the step and the host path, never the /proc/<pid>/root alias. */
function wrapped(err: unknown, what: string, target: string): Error {
  if (err instanceof UserError) return err;
  return new UserError(`${what}: ${(syscallErrorOn(err, target) as Error).message}`, { cause: err });
}
