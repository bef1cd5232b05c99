// Applying image layers (uncompressed tar streams) onto a rootfs directory,
// in order, streamed: an entry's content goes to its file chunk by chunk as
// tar-stream hands it over, and a layer is never held whole.
//
// The rules are the OCI image spec's (layer.md), read as umoci reads them:
// - Names are taken relative to the rootfs ("/a" and "./a" are "a"); a name
//   whose ".." climbs above the rootfs is refused. The entry "./" sets the
//   rootfs directory's own mode, owner and times.
// - An entry's parent directories are resolved inside the rootfs
//   (resolveInRoot: symlinks followed as if the rootfs were "/"), made
//   (0755, root's mapped owner) where missing. Its last component is never
//   followed: what is there is replaced (a directory with its content),
//   except a directory by a directory, which keeps its content and takes
//   the new mode, owner and times. So a layer that makes `evil -> /etc` and
//   then `evil/passwd` writes the rootfs' etc/passwd, never the host's.
// - Whiteouts: `.wh.NAME` removes NAME as the lower layers left it (not
//   what this layer wrote); `.wh..wh..opq` removes everything under its
//   directory that the lower layers made, wherever the marker comes among
//   the layer's entries; other `.wh..wh.*` names are aufs' own and ignored.
//   No marker is ever written.
// - Owner (mapped by the caller's OwnerMapping), then extended attributes,
//   then mode (chown clears setuid and setgid; a user.* attribute needs
//   write permission), then times. A directory's times are set by
//   finish(): the entries added to it meanwhile change them.
//
// A directory whose mode denies its owner rwx keeps u+rwx until finish():
// an unprivileged caller (no CAP_DAC_OVERRIDE) could not otherwise write the
// entries under it, nor remove it when a later layer says so.
//
// Resolving every entry's parent with an lstat per component would cost as
// much as the writing, so the writer remembers (`dirs`) the rootfs-relative
// paths it made or found to be real directories, every ancestor of one
// being one too; removing or replacing a directory forgets it and all below.
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { onPath, SyscallError } from '../../errors';
import { makeSpecialFile, setPathTimes, setXattr } from '../../linux/file-attrs';
import { makedev, S_IFBLK, S_IFCHR, S_IFIFO } from '../../linux/fd';
import { climbsOut, entryPath, resolveInRoot, RootPathError } from '../root-path';
import type { OwnerMapping } from '../types';
import { LayerError, quoted } from './layer-error';
import { archiveProblem, layerEntry, layerExtractor, type LayerEntry } from './tar-entries';

export interface WriterOptions {
  /** From the caller's id mapping; a null result leaves the caller as owner (no chown). */
  owners: OwnerMapping;
}

export interface WriterReport {
  /** Device nodes not made because the caller may not (EPERM): entry names. */
  devicesSkipped: string[];
  /** "entry: name" of extended attributes the filesystem or the caller refused. */
  xattrsSkipped: string[];
}

/** What finish() still has to set on a directory. */
interface DirFinish {
  /** The entry's mode, when it denies the owner rwx (kept u+rwx until then). */
  mode: number | null;
  atimeNs: bigint | null;
  mtimeNs: bigint | null;
}

const OPEN_NEW_FILE = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_WRONLY; // libuv adds O_CLOEXEC
const NS_PER_S = 1_000_000_000n;
const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';
const WHITEOUT_META = '.wh..wh.';

function errnoCode(err: unknown): string | undefined {
  if (err instanceof SyscallError) return err.errnoName;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** lstat without exceptions for what is not there (ENOTDIR too: a file where a directory would be). */
function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    if (errnoCode(err) === 'ENOTDIR') return null;
    throw err;
  }
}

/** How an fs failure reads after the entry's name: "write: no space left on device (ENOSPC)". */
function fsProblem(err: unknown): string {
  if (err instanceof SyscallError) return `${err.call}: ${err.errnoName}`;
  if (err instanceof RootPathError) return err.message;
  const e = err as NodeJS.ErrnoException;
  // Node's message: "ENOSPC: no space left on device, write '/host/path'": keep the words, not the host path.
  const words = /^[A-Z0-9_]+: ([^,]*)/.exec(e.message)?.[1] ?? e.message;
  return `${e.syscall ?? 'fs'}: ${words} (${e.code})`;
}

function isArchiveError(err: unknown): err is Error {
  return err instanceof Error && errnoCode(err) === undefined && !(err instanceof RootPathError) && !(err instanceof LayerError);
}

/** Writes all of `chunk` at the file's offset. */
function writeAll(fd: number, chunk: Buffer): void {
  let done = 0;
  while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
}

export class RootfsWriter {
  private readonly rootfs: string;
  private readonly owners: OwnerMapping;
  /** Rootfs-relative paths known to be real directories ("" the rootfs), with what finish() must set. */
  private readonly dirs = new Map<string, DirFinish | null>();
  /** Rootfs-relative paths the current layer wrote, and their ancestors. */
  private readonly written = new Set<string>();
  /** Directories the current layer made: nothing from a lower layer can be in them. */
  private readonly fresh = new Set<string>();
  private readonly report: WriterReport = { devicesSkipped: [], xattrsSkipped: [] };
  /** The root's mapped owner, for the parent directories the writer makes; undefined until asked. */
  private rootOwner: { uid: number; gid: number } | null | undefined;

  constructor(rootfs: string, options: WriterOptions) {
    this.rootfs = resolve(rootfs);
    this.owners = options.owners;
    this.dirs.set('', null);
  }

  /**
   * Applies one layer. `layer` names it in errors ("layer 2 (sha256:1234abcd…)").
   * Resolves once `tar` has ended (all of it read) and every entry is
   * written; rejects with the stream's own error when it fails (a digest
   * check at its end), else with a LayerError.
   */
  async applyLayer(tar: Readable, layer: string): Promise<void> {
    const ex = layerExtractor();
    let sourceError: unknown = null;
    const onSourceError = (err: unknown): void => {
      sourceError ??= err;
      ex.destroy(err as Error);
    };
    // Left attached: an error the source emits after a failure here is already answered.
    tar.on('error', onSourceError);
    tar.pipe(ex as unknown as NodeJS.WritableStream);
    this.written.clear();
    this.fresh.clear();
    let current: string | null = null;
    let previous: string | null = null;
    try {
      for await (const content of ex) {
        const entry = layerEntry(content.header);
        current = entry.name;
        await this.applyEntry(entry, content as unknown as Readable, layer);
        previous = current;
        current = null;
      }
      await finished(tar);
    } catch (err) {
      tar.unpipe(ex as unknown as NodeJS.WritableStream);
      ex.destroy();
      tar.destroy();
      if (sourceError !== null) throw sourceError;
      if (err instanceof LayerError) throw err;
      if (isArchiveError(err)) throw new LayerError(layer, null, archiveProblem(err, current, previous), { cause: err });
      throw new LayerError(layer, current, fsProblem(err), { cause: err });
    }
  }

  /**
   * After the last layer: gives directories the modes kept back and their
   * times (deepest first, as a mode may deny access to what is below), and
   * returns what could not be made.
   */
  finish(): WriterReport {
    const pending = [...this.dirs].filter((e): e is [string, DirFinish] => e[1] !== null);
    const depth = (p: string): number => (p === '' ? -1 : p.split('/').length);
    pending.sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, todo] of pending) {
      const host = this.host(rel);
      const shown = `/${rel}`;
      onPath(shown, () => {
        if (todo.atimeNs !== null && todo.mtimeNs !== null) setTimes(host, todo.atimeNs, todo.mtimeNs, shown);
        if (todo.mode !== null) chmodSync(host, todo.mode);
      });
      this.dirs.set(rel, null);
    }
    return { devicesSkipped: [...this.report.devicesSkipped], xattrsSkipped: [...this.report.xattrsSkipped] };
  }

  private host(rel: string): string {
    return rel === '' ? this.rootfs : `${this.rootfs}/${rel}`;
  }

  private async applyEntry(entry: LayerEntry, content: Readable, layer: string): Promise<void> {
    const rel = entryPath(entry.name);
    if (rel === null) {
      content.resume();
      this.applyRoot(entry, layer);
      return;
    }
    if (climbsOut(rel)) throw new LayerError(layer, entry.name, 'the name climbs out of the rootfs ("..")');
    const cut = rel.lastIndexOf('/');
    const parentRel = cut < 0 ? '' : rel.slice(0, cut);
    const base = rel.slice(cut + 1);
    if (base === '..') throw new LayerError(layer, entry.name, 'the name ends in ".."');

    if (base.startsWith(WHITEOUT)) {
      content.resume();
      this.applyWhiteout(entry, parentRel, base, layer);
      return;
    }

    const parent = this.directory(parentRel, true, entry, layer) as string;
    const key = parent === '' ? base : `${parent}/${base}`;
    const host = `${this.rootfs}/${key}`;
    switch (entry.type) {
      case 'file':
        await this.writeFile(entry, content, parent, key, host);
        break;
      case 'directory':
        content.resume();
        this.writeDirectory(entry, parent, key, host);
        break;
      case 'symlink':
        content.resume();
        this.writeSymlink(entry, parent, key, host, layer);
        break;
      case 'link':
        content.resume();
        this.writeHardLink(entry, parent, key, host, layer);
        break;
      case 'fifo':
      case 'character-device':
      case 'block-device':
        content.resume();
        this.writeSpecial(entry, parent, key, host);
        break;
      default:
        throw new LayerError(
          layer,
          entry.name,
          entry.type === null
            ? 'unsupported entry type (a tar type flag other than file, link, symlink, directory, device or fifo: a GNU sparse file?)'
            : `unsupported entry type "${entry.type}"`,
        );
    }
    this.markWritten(key);
  }

  /**
   * The rootfs-relative real path of directory `rel` (a parent of an
   * entry), its symlinks resolved inside the rootfs. With `make`, what is
   * missing is made; without, null when it is missing or not a directory.
   */
  private directory(rel: string, make: boolean, entry: LayerEntry, layer: string): string | null {
    if (this.dirs.has(rel)) return rel;
    const hasDotDot = rel === '..' || rel.startsWith('../') || rel.endsWith('/..') || rel.includes('/../');
    if (!hasDotDot) {
      const found = this.walkDirectory(rel, make, entry, layer, false);
      if (found !== undefined) return found;
    }
    // A symlink on the way (or ".."): resolve the whole path inside the rootfs, then walk what it names.
    const real = resolveInRoot(this.rootfs, rel);
    const realRel = real === this.rootfs ? '' : real.slice(this.rootfs.length + 1);
    if (this.dirs.has(realRel)) return realRel;
    return this.walkDirectory(realRel, make, entry, layer, true) as string | null;
  }

  /** The deepest ancestor of `rel` known to be a real directory ("" the rootfs). */
  private knownAncestor(rel: string): string {
    for (let cut = rel.lastIndexOf('/'); cut > 0; cut = rel.lastIndexOf('/', cut - 1)) {
      if (this.dirs.has(rel.slice(0, cut))) return rel.slice(0, cut);
    }
    return '';
  }

  /**
   * Walks `rel`'s components below its deepest known ancestor, noting each
   * real directory, making the missing ones when `make`. Returns `rel`, null
   * (not `make`: missing or not a directory), or undefined on meeting a
   * symlink (`resolved`: `rel` came from resolveInRoot, so none may be left).
   */
  private walkDirectory(rel: string, make: boolean, entry: LayerEntry, layer: string, resolved: boolean): string | null | undefined {
    let cur = this.knownAncestor(rel);
    let missing = false;
    for (const component of rel.slice(cur === '' ? 0 : cur.length + 1).split('/')) {
      if (component === '' || component === '.') continue;
      cur = cur === '' ? component : `${cur}/${component}`;
      const host = this.host(cur);
      const st = missing ? null : lstatOrNull(host);
      if (st === null) {
        if (!make) return null;
        missing = true;
        this.makeParent(host);
        this.fresh.add(cur);
      } else if (st.isSymbolicLink()) {
        if (resolved) throw new LayerError(layer, entry.name, `parent directory "/${cur}" changed while it was resolved`);
        return undefined;
      } else if (!st.isDirectory()) {
        if (!make) return null;
        throw new LayerError(layer, entry.name, `a parent, "/${cur}", is not a directory`);
      }
      if (!this.dirs.has(cur)) this.dirs.set(cur, null);
    }
    return cur;
  }

  /** A parent directory no entry named (yet): 0755, the root's mapped owner. */
  private makeParent(host: string): void {
    mkdirSync(host, 0o755);
    if (this.rootOwner === undefined) this.rootOwner = this.owners.map(0, 0);
    if (this.rootOwner !== null) lchownSync(host, this.rootOwner.uid, this.rootOwner.gid);
    chmodSync(host, 0o755);
  }

  /** Notes that this layer wrote `key` (and so its ancestors): whiteouts and opaque markers leave them. */
  private markWritten(key: string): void {
    let k = key;
    while (!this.written.has(k)) {
      this.written.add(k);
      const cut = k.lastIndexOf('/');
      if (cut < 0) break;
      k = k.slice(0, cut);
    }
  }

  /** Removes what is at `key` (a directory with its content) and forgets the directories it held. */
  private remove(key: string, host: string, st: Stats | null = lstatOrNull(host)): void {
    if (st === null) return;
    if (!st.isDirectory()) {
      unlinkSync(host);
      return;
    }
    rmSync(host, { recursive: true, force: true });
    this.dirs.delete(key);
    this.fresh.delete(key);
    // Every fresh directory is in `dirs` too.
    const below = `${key}/`;
    for (const dir of this.dirs.keys()) {
      if (!dir.startsWith(below)) continue;
      this.dirs.delete(dir);
      this.fresh.delete(dir);
    }
  }

  private applyWhiteout(entry: LayerEntry, parentRel: string, base: string, layer: string): void {
    if (base !== OPAQUE && base.startsWith(WHITEOUT_META)) return; // aufs' own (.wh..wh.plnk, .wh..wh.aufs)
    const parent = this.directory(parentRel, false, entry, layer);
    if (parent === null) return; // nothing below to hide
    if (base === OPAQUE) {
      this.removeLower(parent);
      return;
    }
    const name = base.slice(WHITEOUT.length);
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new LayerError(layer, entry.name, 'a whiteout with no name to remove');
    const key = parent === '' ? name : `${parent}/${name}`;
    if (this.written.has(key)) return;
    this.remove(key, `${this.rootfs}/${key}`);
  }

  /** Everything under directory `dirKey` that this layer did not write goes (an opaque directory). */
  private removeLower(dirKey: string): void {
    for (const child of readdirSync(this.host(dirKey), { withFileTypes: true })) {
      const key = dirKey === '' ? child.name : `${dirKey}/${child.name}`;
      if (!this.written.has(key)) this.remove(key, `${this.rootfs}/${key}`);
      else if (child.isDirectory()) this.removeLower(key);
    }
  }

  /** The host ids of an entry's owner; null: leave the caller as owner. */
  private owner(entry: LayerEntry): { uid: number; gid: number } | null {
    return this.owners.map(entry.uid, entry.gid);
  }

  private applyXattrs(entry: LayerEntry, host: string): void {
    for (const [name, value] of entry.xattrs) {
      try {
        setXattr(host, name, value, entry.name);
      } catch (err) {
        const code = errnoCode(err);
        if (code !== 'EOPNOTSUPP' && code !== 'ENOTSUP' && code !== 'EPERM') throw err;
        this.report.xattrsSkipped.push(`${entry.name}: ${name}`);
      }
    }
  }

  /**
   * Makes entry `key` in directory `parent` with `make`, replacing what is
   * there. In a directory this layer made, only a name the layer repeats can
   * be there: trying first costs less than an lstat per entry. Elsewhere an
   * lstat first spares an exception per replaced file.
   */
  private create<T>(parent: string, key: string, host: string, make: () => T): T {
    if (!this.fresh.has(parent)) this.remove(key, host);
    try {
      return make();
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      this.remove(key, host);
      return make();
    }
  }

  private async writeFile(entry: LayerEntry, content: Readable, parent: string, key: string, host: string): Promise<void> {
    const fd = this.create(parent, key, host, () => openSync(host, OPEN_NEW_FILE, 0o600));
    try {
      for await (const chunk of content) writeAll(fd, chunk as Buffer);
      const owner = this.owner(entry);
      if (owner !== null) fchownSync(fd, owner.uid, owner.gid);
      this.applyXattrs(entry, host);
      fchmodSync(fd, entry.mode & 0o7777);
      setTimes(host, entry.atimeNs, entry.mtimeNs, entry.name, fd);
    } finally {
      closeSync(fd);
    }
  }

  private writeDirectory(entry: LayerEntry, parent: string, key: string, host: string): void {
    // A directory already there keeps its content (the one case where an entry does not replace).
    let st = this.fresh.has(parent) ? null : lstatOrNull(host);
    if (st === null) {
      try {
        mkdirSync(host, 0o700);
        this.fresh.add(key);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
        st = lstatOrNull(host); // named twice in this layer
      }
    }
    if (st !== null && !st.isDirectory()) {
      this.remove(key, host, st);
      mkdirSync(host, 0o700);
      this.fresh.add(key);
    }
    this.dirs.set(key, this.setDirectoryAttrs(entry, host));
  }

  /** The root entry ("./"): the rootfs directory's own mode, owner, xattrs and times. */
  private applyRoot(entry: LayerEntry, layer: string): void {
    if (entry.type !== 'directory') throw new LayerError(layer, entry.name, `the rootfs itself can only be a directory, not a ${entry.type ?? 'special entry'}`);
    this.dirs.set('', this.setDirectoryAttrs(entry, this.rootfs));
    this.markWritten('');
  }

  private setDirectoryAttrs(entry: LayerEntry, host: string): DirFinish {
    const owner = this.owner(entry);
    if (owner !== null) lchownSync(host, owner.uid, owner.gid);
    const mode = entry.mode & 0o7777;
    const held = (mode & 0o700) !== 0o700;
    // Writable (and searchable) by its owner until finish() when the entry's mode is not.
    chmodSync(host, held ? mode | 0o700 : mode);
    this.applyXattrs(entry, host);
    return { mode: held ? mode : null, atimeNs: entry.atimeNs, mtimeNs: entry.mtimeNs };
  }

  private writeSymlink(entry: LayerEntry, parent: string, key: string, host: string, layer: string): void {
    if (entry.linkname === '') throw new LayerError(layer, entry.name, 'a symbolic link with no target');
    this.create(parent, key, host, () => symlinkSync(entry.linkname, host));
    const owner = this.owner(entry);
    if (owner !== null) lchownSync(host, owner.uid, owner.gid);
    this.applyXattrs(entry, host);
    setTimes(host, entry.atimeNs, entry.mtimeNs, entry.name);
  }

  private writeHardLink(entry: LayerEntry, parent: string, key: string, host: string, layer: string): void {
    const target = entryPath(entry.linkname);
    const shown = quoted(entry.linkname);
    if (entry.linkname === '') throw new LayerError(layer, entry.name, 'a hard link with no target');
    if (target === null) throw new LayerError(layer, entry.name, `hard link target ${shown} is the rootfs, a directory`);
    if (climbsOut(target)) throw new LayerError(layer, entry.name, `hard link target ${shown} climbs out of the rootfs ("..")`);
    const targetHost = resolveInRoot(this.rootfs, target, false);
    const st = lstatOrNull(targetHost);
    if (st === null) throw new LayerError(layer, entry.name, `hard link target ${shown} does not exist`);
    if (st.isDirectory()) throw new LayerError(layer, entry.name, `hard link target ${shown} is a directory`);
    if (targetHost === host) return;
    this.create(parent, key, host, () => linkSync(targetHost, host));
  }

  private writeSpecial(entry: LayerEntry, parent: string, key: string, host: string): void {
    const type = entry.type === 'fifo' ? S_IFIFO : entry.type === 'character-device' ? S_IFCHR : S_IFBLK;
    const rdev = entry.type === 'fifo' ? 0n : makedev(entry.devmajor, entry.devminor);
    const make = (): void => makeSpecialFile(host, type | 0o600, rdev, entry.name);
    try {
      this.create(parent, key, host, make);
    } catch (err) {
      if (entry.type === 'fifo' || errnoCode(err) !== 'EPERM') throw err;
      this.report.devicesSkipped.push(entry.name);
      return;
    }
    const owner = this.owner(entry);
    if (owner !== null) lchownSync(host, owner.uid, owner.gid);
    this.applyXattrs(entry, host);
    chmodSync(host, entry.mode & 0o7777);
    setTimes(host, entry.atimeNs, entry.mtimeNs, entry.name);
  }
}

/**
 * Sets an entry's access and modification times on `host` itself (a symlink
 * too), through `fd` when given. Whole seconds go through Node; a fraction
 * (PAX times) through utimensat, which keeps the nanoseconds.
 */
function setTimes(host: string, atimeNs: bigint, mtimeNs: bigint, shown: string, fd?: number): void {
  if (atimeNs % NS_PER_S === 0n && mtimeNs % NS_PER_S === 0n) {
    const atime = Number(atimeNs / NS_PER_S);
    const mtime = Number(mtimeNs / NS_PER_S);
    if (fd !== undefined) futimesSync(fd, atime, mtime);
    else lutimesSync(host, atime, mtime);
  } else if (atimeNs >= 0n && mtimeNs >= 0n) {
    setPathTimes(host, atimeNs, mtimeNs, shown);
  } else {
    lutimesSync(host, Number(atimeNs) / 1e9, Number(mtimeNs) / 1e9);
  }
}
