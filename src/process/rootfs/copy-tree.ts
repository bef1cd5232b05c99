// Copying a directory's contents into another as faithfully as a copy can:
// owners, modes (setuid, sticky), symbolic links as links, hard links as
// links, special files, extended attributes and nanosecond times. Used for
// tmpcopyup, where a new tmpfs must start with what the image had there.
//
// runc's copy (mrunalp/fileutils) keeps owners, modes and device nodes but
// drops xattrs, times and hard links; crun copies xattrs too. tsrun copies
// every attribute the kernel lets it set: `trusted.*` needs CAP_SYS_ADMIN in
// the host's user namespace and `security.*` / `system.*` depend on the LSM,
// on capabilities and on the target filesystem (a tmpfs mounted with
// context= labels every file itself), so a refusal (EPERM, EOPNOTSUPP) of
// one of those is skipped, as the image's file would stay readable anyway;
// any other failure, and every failure of a `user.*` attribute, is an error.
import { chmodSync, constants, copyFileSync, lchownSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, type BigIntStats } from 'node:fs';
import { posix } from 'node:path';
import { onPath, SyscallError } from '../../errors';
import { getXattr, listXattrs, makeSpecialFile, setPathTimes, setXattr } from '../../linux/file-attrs';

/** Attribute namespaces whose refusal by the target is not an error (see above). */
const PRIVILEGED_XATTR_PREFIXES = ['trusted.', 'security.', 'system.'];

/**
 * Copies everything in directory `from` into the existing, empty directory
 * `to`; `shown` is how errors name `to` (the container path). Neither path's
 * own attributes are touched. Never follows a symlink found in `from`.
 */
export function copyDirectoryContents(from: string, to: string, shown: string): void {
  copyEntries(from, to, shown, new Map());
}

function copyEntries(from: string, to: string, shown: string, links: Map<string, string>): void {
  for (const name of onPath(shown, () => readdirSync(from))) {
    copyEntry(`${from}/${name}`, `${to}/${name}`, posix.join(shown, name), links);
  }
}

/** `links` maps "dev:ino" of a multiply linked source file to its first copy. */
function copyEntry(from: string, to: string, shown: string, links: Map<string, string>): void {
  const st = onPath(shown, () => lstatSync(from, { bigint: true }));
  if (!st.isDirectory() && st.nlink > 1n) {
    const key = `${st.dev}:${st.ino}`;
    const first = links.get(key);
    if (first !== undefined) {
      onPath(shown, () => linkSync(first, to));
      return;
    }
    links.set(key, to);
  }
  onPath(shown, () => makeCopy(from, to, st, shown));
  if (st.isDirectory()) copyEntries(from, to, shown, links);
  // Owner before mode (chown clears setuid bits); times last, after the contents.
  onPath(shown, () => lchownSync(to, Number(st.uid), Number(st.gid)));
  if (!st.isSymbolicLink()) onPath(shown, () => chmodSync(to, Number(st.mode) & 0o7777));
  copyXattrs(from, to, shown);
  setPathTimes(to, st.atimeNs, st.mtimeNs, shown);
}

function makeCopy(from: string, to: string, st: BigIntStats, shown: string): void {
  if (st.isDirectory()) mkdirSync(to, 0o700);
  else if (st.isFile()) copyFileSync(from, to, constants.COPYFILE_EXCL);
  else if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
  else makeSpecialFile(to, Number(st.mode), st.rdev, shown);
}

function copyXattrs(from: string, to: string, shown: string): void {
  for (const name of listXattrs(from, shown)) {
    const value = getXattr(from, name, shown);
    try {
      setXattr(to, name, value, shown);
    } catch (err) {
      const refused = err instanceof SyscallError && (err.errnoName === 'EPERM' || err.errnoName === 'EOPNOTSUPP');
      if (!refused || !PRIVILEGED_XATTR_PREFIXES.some((p) => name.startsWith(p))) throw err;
    }
  }
}
