// Paths inside a rootfs being written, resolved the way the container will
// see them: every symlink is followed as if the rootfs were "/", so neither
// an absolute link nor ".." ever leaves it (the OCI image spec's "contained"
// reading of a layer entry, as umoci's securejoin does). Only components
// that exist are resolved; the rest are appended as written.
import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';

/** Symlinks followed in one resolution before giving up (Linux's MAXSYMLINKS is 40). */
const MAX_LINKS = 255;

export class RootPathError extends Error {
  constructor(readonly entry: string, detail: string) {
    super(`${entry}: ${detail}`);
    this.name = 'RootPathError';
  }
}

function isSymlink(hostPath: string): string | null {
  try {
    const st = lstatSync(hostPath);
    return st.isSymbolicLink() ? readlinkSync(hostPath) : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw err;
  }
}

/**
 * The host path of `path` (absolute or relative to the rootfs' "/") inside
 * `root`, with every symlink among its components resolved within `root`;
 * the last component's symlink too when `followLast`. The result always
 * lies under `root` (or is `root`).
 */
export function resolveInRoot(root: string, path: string, followLast = true): string {
  const pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const component = pending.shift() as string;
    if (component === '..') {
      done.pop();
      continue;
    }
    const candidate = posix.join(root, ...done, component);
    const target = pending.length === 0 && !followLast ? null : isSymlink(candidate);
    if (target === null) {
      done.push(component);
      continue;
    }
    if (++links > MAX_LINKS) throw new RootPathError(path, `too many levels of symbolic links`);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
  }
  return posix.join(root, ...done);
}

/** The rootfs-relative form of an archive entry's name ("./a/b/", "/a/b" -> "a/b"); null for the root itself. */
export function entryPath(name: string): string | null {
  const parts = name.split('/').filter((c) => c !== '' && c !== '.');
  return parts.length === 0 ? null : parts.join('/');
}

/** Whether a relative name climbs above its start ("a/../../b"): such names are refused, never clamped. */
export function climbsOut(name: string): boolean {
  let depth = 0;
  for (const c of name.split('/')) {
    if (c === '..') depth--;
    else if (c !== '' && c !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}
