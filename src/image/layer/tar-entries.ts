// A layer's tar stream as entries: tar-stream's extractor, with what its
// headers leave out or garble put back. PAX records may carry an owner too
// large for the ustar field (uid, gid) and times to the nanosecond (mtime,
// atime), which tar-stream leaves in `header.pax`; and `SCHILY.xattr.<name>`
// records, whose values are bytes (security.capability is a binary struct)
// that tar-stream decodes as UTF-8, replacing what is not valid UTF-8. The
// extractor here keeps those values as the bytes the archive holds.
import { extract, type Extract, type Header } from 'tar-stream';

export type EntryType = Header['type'];

/** One entry's header, as the writer uses it. */
export interface LayerEntry {
  /** The name as the archive has it (for messages). */
  name: string;
  /** null: a type flag tar-stream does not know (GNU sparse, a vendor's extension). */
  type: EntryType | null;
  mode: number;
  uid: number;
  gid: number;
  /** Hard and symbolic links: the target as written ("" when none). */
  linkname: string;
  devmajor: number;
  devminor: number;
  mtimeNs: bigint;
  atimeNs: bigint;
  /** Extended attributes from `SCHILY.xattr.*` records, in the archive's order. */
  xattrs: Array<[name: string, value: Buffer]>;
}

const XATTR_PREFIX = 'SCHILY.xattr.';

/**
 * tar-stream 3's extractor internals used to see a PAX header's bytes: it
 * decodes each extended header in `_decodeLongHeader(buf)`, leaving the
 * records of a per-entry one in `_pax`, which becomes the next entry's
 * `header.pax`.
 */
interface ExtractInternals {
  _header: { type: string } | null;
  _pax: Record<string, unknown> | null;
  _decodeLongHeader?: (this: ExtractInternals, buf: Buffer) => void;
}

/**
 * The `SCHILY.xattr.*` records of a PAX extended header, values as bytes.
 * A record is "<length> <key>=<value>\n", length counting the whole record.
 */
export function paxXattrRecords(buf: Buffer): Record<string, Buffer> {
  const found: Record<string, Buffer> = {};
  let pos = 0;
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos);
    if (space < 0) break;
    const length = Number.parseInt(buf.toString('latin1', pos, space), 10);
    if (!(length > 0) || pos + length > buf.length) break;
    const record = buf.subarray(space + 1, pos + length - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) {
      const key = record.toString('utf8', 0, eq);
      if (key.startsWith(XATTR_PREFIX)) found[key] = Buffer.from(record.subarray(eq + 1));
    }
    pos += length;
  }
  return found;
}

/** tar-stream's extractor, its entries' `header.pax` keeping xattr values as Buffers where its internals allow. */
export function layerExtractor(): Extract {
  const ex = extract();
  const internals = ex as unknown as ExtractInternals;
  const decode = internals._decodeLongHeader;
  if (typeof decode === 'function') {
    internals._decodeLongHeader = function (buf: Buffer): void {
      decode.call(this, buf);
      if (this._header?.type === 'pax-header' && this._pax !== null && typeof this._pax === 'object') {
        Object.assign(this._pax, paxXattrRecords(buf));
      }
    };
  }
  return ex;
}

/** A PAX time ("1700000000.123456789", maybe negative) in nanoseconds; null when malformed. */
export function paxTimeNs(value: unknown): bigint | null {
  if (typeof value !== 'string') return null;
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(value.trim());
  if (m === null) return null;
  const ns = BigInt(m[2]) * 1_000_000_000n + BigInt((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
  return m[1] === '-' ? -ns : ns;
}

function paxId(value: unknown, fallback: number): number {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return fallback;
  const id = Number(value);
  return id <= 0xffffffff ? id : fallback;
}

/** The writer's view of a tar-stream header. */
export function layerEntry(header: Header): LayerEntry {
  const pax = (header.pax ?? {}) as Record<string, unknown>;
  const seconds = header.mtime instanceof Date ? Math.floor(header.mtime.getTime() / 1000) : 0;
  const mtimeNs = paxTimeNs(pax.mtime) ?? BigInt(Number.isFinite(seconds) ? seconds : 0) * 1_000_000_000n;
  const xattrs: Array<[string, Buffer]> = [];
  for (const [key, value] of Object.entries(pax)) {
    if (!key.startsWith(XATTR_PREFIX) || key.length === XATTR_PREFIX.length) continue;
    xattrs.push([key.slice(XATTR_PREFIX.length), Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8')]);
  }
  return {
    name: header.name,
    type: header.type ?? null,
    mode: header.mode ?? 0,
    uid: paxId(pax.uid, header.uid ?? 0),
    gid: paxId(pax.gid, header.gid ?? 0),
    linkname: header.linkname ?? '',
    devmajor: header.devmajor ?? 0,
    devminor: header.devminor ?? 0,
    mtimeNs,
    atimeNs: paxTimeNs(pax.atime) ?? mtimeNs,
    xattrs,
  };
}

/** What a tar-stream parse error says, in this project's words. */
export function archiveProblem(err: Error, entry: string | null, previous: string | null): string {
  switch (err.message) {
    case 'Unexpected end of data':
      if (entry !== null) return `truncated tar archive: it ends inside entry ${JSON.stringify(entry)}`;
      return previous === null ? 'truncated tar archive: it ends inside the first header' : `truncated tar archive: it ends inside the header after entry ${JSON.stringify(previous)}`;
    case 'Invalid tar header. Maybe the tar is corrupted or it needs to be gunzipped?':
      return 'not a valid tar archive: a header\'s checksum is wrong (corrupt data, or a compressed layer read as plain tar)';
    case 'Invalid tar header: unknown format.':
      return 'not a valid tar archive: a header is neither ustar nor GNU tar';
    default:
      return `not a valid tar archive: ${err.message}`;
  }
}
