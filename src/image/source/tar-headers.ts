// Reading tar headers (POSIX ustar, GNU and PAX) where they lie, to know
// each member's name, type, and the offset and size of its data. An
// uncompressed image archive is read in place this way: blobs are byte
// ranges of the file, never copied.

const BLOCK = 512;

/** Reads up to `length` bytes at `offset`; fewer at the end of the data. */
export type ReadAt = (offset: number, length: number) => Buffer;

export type MemberType = 'file' | 'directory' | 'symlink' | 'link' | 'other';

export interface TarMember {
  /** As written in the archive (after long-name and PAX records). */
  name: string;
  type: MemberType;
  linkname: string;
  /** Offset of the member's data in the (uncompressed) archive. */
  dataOffset: number;
  size: number;
}

/** A tar stream that is not one ("invalid") or that stops inside a member ("truncated"). */
export class TarFormatError extends Error {
  constructor(
    readonly kind: 'invalid' | 'truncated',
    message: string,
  ) {
    super(message);
    this.name = 'TarFormatError';
  }
}

/** The end of the archive: a zero block, or no more data at a header boundary. */
export const END = Symbol('end of archive');

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? field.length : nul).toString('utf8');
}

/** A numeric field: octal text, or base-256 (GNU) when the high bit of its first byte is set. */
function numeric(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  if ((field[0] & 0x80) !== 0) {
    let n = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    return n;
  }
  const digits = text(block, start, length).trim();
  if (digits === '') return 0;
  if (!/^[0-7]+$/.test(digits)) throw new TarFormatError('invalid', `bad number "${digits}" in a tar header`);
  return parseInt(digits, 8);
}

/** Whether the header's checksum holds (unsigned, or the signed sum old tars wrote). */
export function checksumValid(block: Buffer): boolean {
  if (block.length < BLOCK) return false;
  const stored = parseInt(text(block, 148, 8).trim(), 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function memberType(flag: string): MemberType {
  if (flag === '0' || flag === '' || flag === '7') return 'file';
  if (flag === '5') return 'directory';
  if (flag === '2') return 'symlink';
  if (flag === '1') return 'link';
  return 'other';
}

/** The key=value records of a PAX extended header ("%d %s=%s\n" each). */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const length = space === -1 ? NaN : parseInt(data.subarray(pos, space).toString(), 10);
    if (!Number.isInteger(length) || length <= 0 || pos + length > data.length) throw new TarFormatError('invalid', 'bad PAX record');
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return records;
}

function readExactly(readAt: ReadAt, offset: number, length: number): Buffer {
  const data = readAt(offset, length);
  if (data.length < length) throw new TarFormatError('truncated', `archive ends inside the member at offset ${offset}`);
  return data;
}

function nulTerminated(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.subarray(0, nul === -1 ? data.length : nul).toString('utf8');
}

/** Overrides that long-name and PAX headers give the member after them. */
interface Pending {
  name?: string;
  linkname?: string;
  size?: number;
}

/**
 * The member whose header chain starts at `offset`, and the offset of the
 * next one; END at the end of the archive. Throws TarFormatError.
 */
export function readMember(readAt: ReadAt, offset: number): { member: TarMember; next: number } | typeof END {
  const pending: Pending = {};
  for (;;) {
    const block = readAt(offset, BLOCK);
    if (block.length === 0) return END;
    // A file shorter than one header never was an archive; later, a short header is a cut one.
    if (block.length < BLOCK && offset === 0) throw new TarFormatError('invalid', `${block.length} bytes, less than one tar header`);
    if (block.length < BLOCK) throw new TarFormatError('truncated', `archive ends inside the header at offset ${offset}`);
    if (block.every((b) => b === 0)) return END;
    if (!checksumValid(block)) throw new TarFormatError('invalid', `no valid tar header at offset ${offset}`);
    const flag = text(block, 156, 1);
    const size = numeric(block, 124, 12);
    const dataOffset = offset + BLOCK;
    const next = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'L' || flag === 'K' || flag === 'x' || flag === 'g') {
      const data = readExactly(readAt, dataOffset, size);
      if (flag === 'L') pending.name = nulTerminated(data);
      else if (flag === 'K') pending.linkname = nulTerminated(data);
      else if (flag === 'x') applyPax(paxRecords(data), pending);
      // 'g' (global PAX) sets defaults tsrun has no use for.
      offset = next;
      continue;
    }
    const prefix = text(block, 257, 6) === 'ustar' ? text(block, 345, 155) : '';
    const name = pending.name ?? (prefix === '' ? text(block, 0, 100) : `${prefix}/${text(block, 0, 100)}`);
    const realSize = pending.size ?? size;
    const member = { name, type: memberType(flag), linkname: pending.linkname ?? text(block, 157, 100), dataOffset, size: realSize };
    return { member, next: pending.size === undefined ? next : dataOffset + Math.ceil(realSize / BLOCK) * BLOCK };
  }
}

function applyPax(records: Map<string, string>, pending: Pending): void {
  const path = records.get('path');
  const linkpath = records.get('linkpath');
  const size = records.get('size');
  if (path !== undefined) pending.name = path;
  if (linkpath !== undefined) pending.linkname = linkpath;
  if (size !== undefined) {
    if (!/^[0-9]+$/.test(size)) throw new TarFormatError('invalid', `bad PAX size "${size}"`);
    pending.size = Number(size);
  }
}

/** Every member of the archive, in order; each member's data must lie within the archive. */
export function* walkMembers(readAt: ReadAt): Generator<TarMember> {
  let offset = 0;
  for (;;) {
    const r = readMember(readAt, offset);
    if (r === END) return;
    const { member, next } = r;
    if (member.size > 0 && readAt(member.dataOffset + member.size - 1, 1).length === 0) {
      throw new TarFormatError('truncated', `archive ends inside ${member.name}`);
    }
    yield member;
    offset = next;
  }
}
