// Resolving a container path against the rootfs the way the container would
// see it: symlinks are followed *inside* the rootfs (an absolute link target
// restarts at the rootfs, `..` stops at it), so a path from config.json or a
// link in the image can never name a place on the host.
import { lstatSync, readlinkSync } from 'node:fs';
import { UserError } from '../../errors';

const MAX_LINKS = 255;

/** Returns `root` joined with `unsafePath` with every symlink resolved in `root`. */
export function secureJoin(root: string, unsafePath: string): string {
  const resolved: string[] = [];
  let pending = splitPath(unsafePath);
  let links = 0;
  let missing = false; // past a missing component every part is taken literally
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const hostPath = root + '/' + [...resolved, part].join('/');
    let isLink = false;
    if (!missing) {
      try {
        isLink = lstatSync(hostPath).isSymbolicLink();
      } catch {
        missing = true;
      }
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new UserError(`${unsafePath}: too many levels of symbolic links`);
    const target = readlinkSync(hostPath);
    if (target.startsWith('/')) resolved.length = 0;
    pending = [...splitPath(target), ...pending];
  }
  return resolved.length === 0 ? root : root + '/' + resolved.join('/');
}

function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}
