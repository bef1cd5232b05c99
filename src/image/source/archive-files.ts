// The files of an image archive or layout, by their names in it
// ("index.json", "blobs/sha256/<hex>", "<id>/layer.tar"), whether they lie
// in a directory (a layout, or an archive spooled from a pipe) or as byte
// ranges of an uncompressed tar file read in place.
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { resolveInRoot } from '../root-path';
import { memberName } from './member-names';
import { walkMembers, type TarMember } from './tar-headers';

export interface ArchiveFiles {
  /** Size of the regular file `name`, or null when there is none. */
  size(name: string): number | null;
  /** A new stream of the file's bytes (the file must exist: check with size()). */
  open(name: string): Readable;
  /** The whole file; for the small JSON documents only. */
  read(name: string): Buffer;
}

/** A layout directory. Names resolve inside it: a symlink in it cannot reach other host files. */
export class DirectoryFiles implements ArchiveFiles {
  constructor(readonly dir: string) {}

  private path(name: string): string {
    return resolveInRoot(this.dir, name);
  }

  size(name: string): number | null {
    try {
      const st = statSync(this.path(name));
      return st.isFile() ? st.size : null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw err;
    }
  }

  open(name: string): Readable {
    return createReadStream(this.path(name));
  }

  read(name: string): Buffer {
    return readFileSync(this.path(name));
  }
}

/** Links between members are followed at most this many times (a loop fails, as ELOOP would). */
const MAX_LINKS = 40;

/** An uncompressed tar file read in place: each member is a byte range of it. */
export class TarFileFiles implements ArchiveFiles {
  private constructor(
    private readonly file: string,
    private readonly members: Map<string, TarMember>,
  ) {}

  /** Indexes every member of `file` (throws TarFormatError, or Error for a bad member name). */
  static load(file: string): TarFileFiles {
    const fd = openSync(file, 'r');
    try {
      const members = new Map<string, TarMember>();
      for (const m of walkMembers(readAtFd(fd))) {
        const name = memberName(m.name);
        // A later member of the same name replaces the earlier, as tar extracts it.
        if (name !== null) members.set(name, m);
      }
      return new TarFileFiles(file, members);
    } finally {
      closeSync(fd);
    }
  }

  /** The regular file `name` names, its symlinks and hard links followed within the archive. */
  private member(name: string): TarMember | null {
    let current: string | null = name;
    for (let hops = 0; hops <= MAX_LINKS && current !== null; hops++) {
      const m = this.members.get(current);
      if (m === undefined) return null;
      if (m.type === 'file') return m;
      if (m.type === 'link') current = safeName(m.linkname);
      else if (m.type === 'symlink') current = safeName(posix.join(posix.dirname(current), m.linkname));
      else return null;
    }
    return null;
  }

  size(name: string): number | null {
    return this.member(name)?.size ?? null;
  }

  open(name: string): Readable {
    const m = this.member(name);
    if (m === null) throw new Error(`${name} is not in ${this.file}`);
    if (m.size === 0) return Readable.from([]);
    return createReadStream(this.file, { start: m.dataOffset, end: m.dataOffset + m.size - 1 });
  }

  read(name: string): Buffer {
    const m = this.member(name);
    if (m === null) throw new Error(`${name} is not in ${this.file}`);
    const fd = openSync(this.file, 'r');
    try {
      return readAtFd(fd)(m.dataOffset, m.size);
    } finally {
      closeSync(fd);
    }
  }
}

/** A link target inside the archive, or null for one that leaves it (absolute, or climbing out). */
function safeName(target: string): string | null {
  if (target.startsWith('/')) return null;
  try {
    return memberName(posix.normalize(target));
  } catch {
    return null;
  }
}

/** Positional reads of an open file, short at its end. */
export function readAtFd(fd: number): (offset: number, length: number) => Buffer {
  const size = fstatSync(fd).size;
  return (offset, length) => {
    const n = Math.max(0, Math.min(length, size - offset));
    const buf = Buffer.alloc(n);
    let done = 0;
    while (done < n) {
      const got = readSync(fd, buf, done, n - done, offset + done);
      if (got === 0) break;
      done += got;
    }
    return buf.subarray(0, done);
  };
}
