// Putting a container's /etc/hosts and /etc/resolv.conf in place from a
// createRuntime hook: the files are written on the host and bind-mounted onto
// the container's /etc/hosts and /etc/resolv.conf inside its mount namespace,
// so the image's own files are covered, never written, and the mounts go
// away with the container.
//
// At createRuntime time the init has bound its rootfs onto itself, at the same
// path, and made the config's mounts under it, but not yet switched root
// (process/create/init.ts: 'root filesystem', 'create hooks', 'switch root');
// a mount made at <rootfs>/etc/hosts in its namespace then moves with the
// root into the container. The runtime cannot call mount(2) from a
// multithreaded Node process inside another mount namespace, so util-linux
// nsenter enters it and runs mount(8).
import { accessSync, chmodSync, constants, mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { UserError, syscallErrorOn } from '../errors';
import { createMountPoint, findMountPoint, type MountPoint } from './etc-mount-point';

export interface InstallOptions {
  /**
   * config.json root.readonly: the image must not be written, so a missing
   * /etc/hosts or /etc/resolv.conf is an error rather than an empty file
   * made to mount on. (At hook time the rootfs is still writable: the
   * read-only remount comes after the root switch.)
   */
  readonlyRoot?: boolean;
}

/** Undo steps, run last first when a later step fails. */
type Undo = Array<() => void>;

/**
 * Writes `files` into `dir` (0644) and bind-mounts them onto the container's
 * /etc/hosts and /etc/resolv.conf, in the mount namespace of `pid` (the
 * container's init, waiting at the createRuntime hook point). `rootfs` is the
 * host path of the container's root. A failure undoes every step before it
 * and throws one line naming the file and the call.
 */
export function installEtcFiles(pid: number, rootfs: string, dir: string, files: { hosts: string; resolvConf: string }, options: InstallOptions = {}): void {
  const namespace = containerMountNamespace(pid);
  const root = realRootfs(rootfs);
  const wanted = [
    { name: 'hosts', text: files.hosts },
    { name: 'resolv.conf', text: files.resolvConf },
  ];
  const undo: Undo = [];
  try {
    const sources = wanted.map(({ name, text }) => writeSource(dir, name, text, undo));
    // Both found and checked before anything is made in the rootfs.
    const points = wanted.map(({ name }) => findMountPoint(`/proc/${pid}/root`, root, `/etc/${name}`));
    for (const point of points) {
      if (!point.exists && options.readonlyRoot) throw new UserError(`${point.target}: missing, and the rootfs is read-only (root.readonly): no mount point for the container's ${point.containerPath}`);
    }
    for (const point of points) if (!point.exists) undo.push(createMountPoint(point));
    points.forEach((point, i) => bindMount(namespace, sources[i], point, undo));
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {
        // Undo what can be undone; the error that stopped the install is the one to report.
      }
    }
    throw err;
  }
}

/**
 * /proc/<pid>/ns/mnt, refused when it is this process' own: a container
 * without a mount namespace of its own would get the mounts on the host's
 * rootfs, where nothing removes them.
 */
function containerMountNamespace(pid: number): string {
  const path = `/proc/${pid}/ns/mnt`;
  let theirs;
  try {
    theirs = statSync(path);
  } catch (err) {
    throw new UserError(`container process ${pid}: ${(syscallErrorOn(err, path) as Error).message}`, { cause: err });
  }
  const ours = statSync('/proc/self/ns/mnt');
  if (theirs.ino === ours.ino && theirs.dev === ours.dev) {
    throw new UserError(`container process ${pid} has no mount namespace of its own: /etc/hosts and /etc/resolv.conf would be mounted on the host`);
  }
  return path;
}

/** The rootfs as the init bound it: absolute and symlink-free, as `create` resolved it. */
function realRootfs(rootfs: string): string {
  try {
    return realpathSync(rootfs);
  } catch (err) {
    throw new UserError(`container rootfs: ${(syscallErrorOn(err, rootfs) as Error).message}`, { cause: err });
  }
}

function writeSource(dir: string, name: string, text: string, undo: Undo): string {
  const path = join(dir, name);
  try {
    const madeDir = mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (madeDir !== undefined) undo.push(() => rmSync(madeDir, { recursive: true, force: true }));
    writeFileSync(path, text, { mode: 0o644 });
    undo.push(() => rmSync(path, { force: true }));
    chmodSync(path, 0o644); // whatever the umask, or the mode of a file left by an earlier run
  } catch (err) {
    throw new UserError(`writing the container's ${name}: ${(syscallErrorOn(err, path) as Error).message}`, { cause: err });
  }
  return path;
}

function bindMount(namespace: string, source: string, point: MountPoint, undo: Undo): void {
  // --no-mtab: mount(8) would otherwise note the mount in /run/mount/utab,
  // which in this namespace is still the host's.
  const mount = toolPath('mount');
  runInNamespace(namespace, [mount, '--no-mtab', '--bind', source, point.target], `nsenter mount --bind ${source} on ${point.target}`);
  undo.push(() => {
    try {
      runInNamespace(namespace, [toolPath('umount'), '--no-mtab', point.target], `nsenter umount ${point.target}`);
    } catch {
      // The container fails to be created anyway: its namespace, and the mount, go with it.
    }
  });
}

function runInNamespace(namespace: string, command: string[], call: string): void {
  const r = spawnSync(toolPath('nsenter'), [`--mount=${namespace}`, '--', ...command], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  if (r.error) throw new UserError(`${call}: ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) {
    const why = stderrLine(r.stderr ?? '') || (r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`);
    throw new UserError(`${call}: ${why}`);
  }
}

/** mount(8)'s complaint as one line, without its pointer to dmesg. */
function stderrLine(stderr: string): string {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^dmesg\(1\) may have more information/.test(line))
    .join('; ');
}

/**
 * util-linux programs by absolute path: hooks run with only the environment
 * config.json gives them, often no PATH at all.
 */
const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/local/sbin'];

function toolPath(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), ...TOOL_DIRS];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  throw new UserError(`${name} (util-linux): not found in ${[...new Set(dirs)].join(':')}`);
}
