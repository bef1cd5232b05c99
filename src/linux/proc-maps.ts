// /proc/<pid>/maps and smaps, read into reused buffers off the JS heap:
// fork.ts reads them around every fork, where an allocation on V8's heap can
// set off the very garbage collection it is checking for (a new DONTFORK page).
import { closeSync, openSync, readSync } from 'node:fs';

/** What a buffer grows to at its first read: a maps file is ~10 KB. */
export const FIRST_SIZE = 64 << 10;

/** A /proc file's latest contents, in a buffer kept from one read to the next. */
export class ProcFileBuffer {
  /** Empty until the first read, so that none is kept in a startup snapshot. */
  private bytes = Buffer.alloc(0);
  length = 0;
  /** Why the last read failed (`open("/proc/1/maps"): EACCES`), or ''. */
  failure = '';

  /** The whole buffer (valid up to `length`): no view is made, so reading it allocates nothing. */
  get buffer(): Buffer {
    return this.bytes;
  }

  /**
   * Makes room for `bytes` before a read needs it (the contents are emptied).
   * Growing allocates through malloc, which may move the end of the
   * process's [heap]; fork.ts has the buffers it reads after a fork grown
   * before it, so its own maps then read as they were at the fork.
   */
  reserve(bytes: number): void {
    if (this.bytes.length >= bytes) return;
    this.bytes = Buffer.alloc(bytes);
    this.length = 0;
  }

  /** Reads the whole file; false (contents emptied, `failure` set) when it cannot be opened or read. */
  read(path: string): boolean {
    this.length = 0;
    this.failure = '';
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      this.failure = `open("${path}"): ${(err as NodeJS.ErrnoException).code ?? err}`;
      return false;
    }
    try {
      for (;;) {
        if (this.length === this.bytes.length) this.bytes = Buffer.concat([this.bytes, Buffer.alloc(Math.max(this.bytes.length, FIRST_SIZE))]);
        const n = readSync(fd, this.bytes, this.length, this.bytes.length - this.length, null);
        if (n === 0) return true;
        this.length += n;
      }
    } catch (err) {
      this.length = 0;
      this.failure = `read("${path}"): ${(err as NodeJS.ErrnoException).code ?? err}`;
      return false;
    } finally {
      closeSync(fd);
    }
  }

  /** Reads the whole file, or throws naming the call, the file and the errno. */
  readOrThrow(path: string): void {
    if (!this.read(path)) throw new Error(this.failure);
  }

  /** Gives the buffer back to the GC (a process that will fork no more); a later read grows it again. */
  drop(): void {
    this.bytes = Buffer.alloc(0);
    this.length = 0;
  }

  /** The contents as a string (on V8's heap: for a read that no check depends on). */
  text(): string {
    return this.bytes.toString('latin1', 0, this.length);
  }

  sameAs(other: ProcFileBuffer): boolean {
    return this.length === other.length && this.bytes.compare(other.bytes, 0, other.length, 0, this.length) === 0;
  }
}

const NEWLINE = 0x0a;
const VMFLAGS = Buffer.from('VmFlags:');
const DONTCOPY_FLAG = Buffer.from(' dc');

/** True when some range of an smaps file carries the `dc` (do not copy on fork) flag. */
export function smapsHasDontforkRange(smaps: ProcFileBuffer): boolean {
  const data = smaps.buffer;
  const length = smaps.length;
  for (let at = data.indexOf(VMFLAGS); at >= 0 && at < length; at = data.indexOf(VMFLAGS, at + 1)) {
    const newline = data.indexOf(NEWLINE, at);
    const flags = data.subarray(at, newline < 0 || newline > length ? length : newline);
    if (flags.indexOf(DONTCOPY_FLAG) >= 0) return true;
  }
  return false;
}
