// /dev inside the rootfs: the default devices every container gets, the
// config's linux.devices, and the standard links (/dev/fd, stdio, ptmx).
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { LinuxDevice } from '../../spec/types';
import { chownPath, makeNode, S_IFBLK, S_IFCHR, S_IFIFO } from '../../linux/fd';
import { mountFs } from '../../linux/mount';
import { MS } from '../../linux/mount-options';
import { SyscallError, configError, onPath, syscallErrorOn } from '../../errors';
import { secureJoin } from './secure-join';

export const DEFAULT_DEVICES: LinuxDevice[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

const DEV_LINKS: Array<[string, string]> = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
];

/** The config's devices after the defaults, a config entry replacing a default of the same path. */
export function devicesToCreate(configured: LinuxDevice[] = []): LinuxDevice[] {
  const paths = new Set(configured.map((d) => d.path));
  return [...DEFAULT_DEVICES.filter((d) => !paths.has(d.path)), ...configured];
}

/**
 * Creates the default devices and the config's `configured` ones. Inside a
 * user namespace mknod is refused, so the host's node is bind-mounted onto an
 * empty file instead (as runc does). A failure names the device's path in the
 * container, and the config entry when it is one.
 */
export function createDevices(rootfs: string, configured: LinuxDevice[] | undefined, inUserNamespace: boolean): void {
  for (const device of devicesToCreate(configured)) {
    try {
      createDevice(rootfs, device, inUserNamespace);
    } catch (err) {
      const index = configured?.indexOf(device) ?? -1;
      if (index >= 0) throw configError(`/linux/devices/${index}`, (err as Error).message, err);
      throw err;
    }
  }
}

function createDevice(rootfs: string, device: LinuxDevice, inUserNamespace: boolean): void {
  const target = joinLeaf(rootfs, device.path);
  onPath(dirname(device.path), () => mkdirSync(dirname(target), { recursive: true }));
  if (inUserNamespace) {
    bindHostDevice(device.path, target);
    return;
  }
  try {
    makeDeviceNode(device, target);
  } catch (err) {
    // EPERM from the node's own calls (no CAP_MKNOD, say), not from the fs
    // calls around them that also come out as SyscallErrors here.
    if (!(err instanceof SyscallError) || err.errnoName !== 'EPERM' || (err.call !== 'mknod' && err.call !== 'chown')) throw err;
    bindHostDevice(device.path, target);
  }
}

function makeDeviceNode(device: LinuxDevice, target: string): void {
  const shown = device.path;
  if (existsSync(target)) onPath(shown, () => rmSync(target, { force: true }));
  const typeBits = device.type === 'b' ? S_IFBLK : device.type === 'p' ? S_IFIFO : S_IFCHR;
  const mode = device.fileMode ?? 0o666;
  onPath(shown, () => makeNode(target, typeBits | (mode & 0o7777), device.major ?? 0, device.minor ?? 0));
  onPath(shown, () => chmodSync(target, mode & 0o7777)); // mknod's mode went through the umask
  onPath(shown, () => chownPath(target, device.uid ?? 0, device.gid ?? 0));
}

/** The host's node at `path` bound onto the same path in the container. */
function bindHostDevice(path: string, target: string): void {
  if (!existsSync(target)) onPath(path, () => closeSync(openSync(target, 'a', 0o644)));
  mountFs(path, target, 'bind', MS.BIND, '', path);
}

/** /dev/fd, /dev/std*, /dev/ptmx (to the container's devpts) and /dev/core. */
export function createDevLinks(rootfs: string, hasDevpts: boolean): void {
  const links = [...DEV_LINKS];
  if (existsSync('/proc/kcore')) links.push(['/proc/kcore', '/dev/core']);
  for (const [target, path] of links) {
    const at = joinLeaf(rootfs, path);
    if (!existsSync(dirname(at))) continue;
    try {
      symlinkSync(target, at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw syscallErrorOn(err, path);
    }
  }
  if (hasDevpts) {
    const ptmx = joinLeaf(rootfs, '/dev/ptmx');
    onPath('/dev/ptmx', () => rmSync(ptmx, { force: true }));
    onPath('/dev/ptmx', () => symlinkSync('pts/ptmx', ptmx));
  }
}

/** The parent resolved inside the rootfs, the last component taken as is (it is replaced, not followed). */
function joinLeaf(rootfs: string, path: string): string {
  return secureJoin(rootfs, dirname(path)) + '/' + basename(path);
}
