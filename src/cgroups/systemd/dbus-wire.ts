// The D-Bus wire format (little-endian), as far as talking to systemd's
// manager needs: messages with header fields and a body marshalled from a
// type signature. Pure: no sockets here (see dbus-connection.ts).
//
// JavaScript values per D-Bus type: y n q i u -> number; x t -> bigint
// (numbers are accepted when writing); b -> boolean; s o g -> string;
// arrays and structs -> arrays; a{kv} -> array of [key, value];
// v -> Variant.

export interface Variant {
  signature: string;
  value: DBusValue;
}
export type DBusValue = number | bigint | boolean | string | Variant | DBusValue[];

export const MessageType = { methodCall: 1, methodReturn: 2, error: 3, signal: 4 } as const;

export interface Message {
  type: number;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature: string;
  body: DBusValue[];
}

const HeaderField = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;
const HEADER_FIELD_TYPES: Record<number, string> = { 1: 'o', 2: 's', 3: 's', 4: 's', 5: 'u', 6: 's', 7: 's', 8: 'g' };
/** Flag: the call wants no reply. Not used; listed for the reader's sake. */
export const NO_REPLY_EXPECTED = 1;

const ALIGNMENT: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, s: 4, o: 4, g: 1, a: 4, '(': 8, '{': 8, v: 1, h: 4 };

/** The index just past the single complete type starting at `start` in `sig`. */
export function endOfType(sig: string, start: number): number {
  const c = sig[start];
  if (c === undefined) throw new Error(`D-Bus signature "${sig}": a type is missing at ${start}`);
  if (c === 'a') return endOfType(sig, start + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    let i = start + 1;
    while (sig[i] !== close) {
      if (i >= sig.length) throw new Error(`D-Bus signature "${sig}": "${c}" at ${start} is not closed`);
      i = endOfType(sig, i);
    }
    return i + 1;
  }
  if (!(c in ALIGNMENT)) throw new Error(`D-Bus signature "${sig}": unknown type "${c}"`);
  return start + 1;
}

/** A signature split into its complete types: "sa(sv)u" -> ["s", "a(sv)", "u"]. */
export function splitSignature(sig: string): string[] {
  const types: string[] = [];
  for (let i = 0; i < sig.length; ) {
    const end = endOfType(sig, i);
    types.push(sig.slice(i, end));
    i = end;
  }
  return types;
}

/** Appends marshalled values; offsets (for alignment) count from the message start. */
class Writer {
  private buf = Buffer.alloc(256);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.reserve(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  put(size: number, fill: (buf: Buffer, at: number) => void): void {
    this.align(size);
    this.reserve(size);
    fill(this.buf, this.length);
    this.length += size;
  }

  bytes(data: Buffer): void {
    this.reserve(data.length);
    data.copy(this.buf, this.length);
    this.length += data.length;
  }

  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }

  /** Overwrites a uint32 already written at `at` (an array's length, known afterwards). */
  patchUint32(at: number, value: number): void {
    this.buf.writeUInt32LE(value, at);
  }

  value(type: string, v: DBusValue): void {
    const c = type[0];
    switch (c) {
      case 'y':
        return this.put(1, (b, at) => b.writeUInt8(v as number, at));
      case 'b':
        return this.put(4, (b, at) => b.writeUInt32LE(v ? 1 : 0, at));
      case 'n':
        return this.put(2, (b, at) => b.writeInt16LE(v as number, at));
      case 'q':
        return this.put(2, (b, at) => b.writeUInt16LE(v as number, at));
      case 'i':
      case 'h':
        return this.put(4, (b, at) => b.writeInt32LE(v as number, at));
      case 'u':
        return this.put(4, (b, at) => b.writeUInt32LE(v as number, at));
      case 'x':
        return this.put(8, (b, at) => b.writeBigInt64LE(BigInt(v as number | bigint), at));
      case 't':
        return this.put(8, (b, at) => b.writeBigUInt64LE(BigInt(v as number | bigint), at));
      case 'd':
        return this.put(8, (b, at) => b.writeDoubleLE(v as number, at));
      case 's':
      case 'o':
        return this.string(v as string, 4);
      case 'g':
        return this.string(v as string, 1);
      case 'v': {
        const variant = v as Variant;
        this.string(variant.signature, 1);
        return this.value(variant.signature, variant.value);
      }
      case 'a':
        return this.array(type.slice(1), v as DBusValue[]);
      case '(':
      case '{': {
        this.align(8);
        const fields = splitSignature(type.slice(1, -1));
        const values = v as DBusValue[];
        if (values.length !== fields.length) throw new Error(`D-Bus ${type}: ${values.length} values for ${fields.length} fields`);
        fields.forEach((f, i) => this.value(f, values[i]));
        return;
      }
      default:
        throw new Error(`D-Bus type "${type}" cannot be written`);
    }
  }

  private string(s: string, lengthBytes: 1 | 4): void {
    const data = Buffer.from(s, 'utf8');
    if (lengthBytes === 1) this.put(1, (b, at) => b.writeUInt8(data.length, at));
    else this.put(4, (b, at) => b.writeUInt32LE(data.length, at));
    this.bytes(data);
    this.bytes(Buffer.alloc(1));
  }

  private array(element: string, items: DBusValue[]): void {
    this.put(4, () => undefined);
    const lengthAt = this.length - 4;
    // Padding to the first element is not counted in the length, even when empty.
    this.align(ALIGNMENT[element[0]]);
    const start = this.length;
    for (const item of items) this.value(element, item);
    this.patchUint32(lengthAt, this.length - start);
  }
}

/** Reads marshalled values from `buf`, whose offset 0 is 8-aligned in the message. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    public at = 0,
  ) {}

  private align(n: number): void {
    this.at += (n - (this.at % n)) % n;
  }

  private take<T>(size: number, read: (at: number) => T): T {
    this.align(size);
    if (this.at + size > this.buf.length) throw new Error('D-Bus message is cut short');
    const v = read(this.at);
    this.at += size;
    return v;
  }

  value(type: string): DBusValue {
    const b = this.buf;
    switch (type[0]) {
      case 'y':
        return this.take(1, (at) => b.readUInt8(at));
      case 'b':
        return this.take(4, (at) => b.readUInt32LE(at) !== 0);
      case 'n':
        return this.take(2, (at) => b.readInt16LE(at));
      case 'q':
        return this.take(2, (at) => b.readUInt16LE(at));
      case 'i':
      case 'h':
        return this.take(4, (at) => b.readInt32LE(at));
      case 'u':
        return this.take(4, (at) => b.readUInt32LE(at));
      case 'x':
        return this.take(8, (at) => b.readBigInt64LE(at));
      case 't':
        return this.take(8, (at) => b.readBigUInt64LE(at));
      case 'd':
        return this.take(8, (at) => b.readDoubleLE(at));
      case 's':
      case 'o':
        return this.string(this.take(4, (at) => b.readUInt32LE(at)));
      case 'g':
        return this.string(this.take(1, (at) => b.readUInt8(at)));
      case 'v': {
        const signature = this.string(this.take(1, (at) => b.readUInt8(at)));
        return { signature, value: this.value(signature) };
      }
      case 'a': {
        const length = this.take(4, (at) => b.readUInt32LE(at));
        this.align(ALIGNMENT[type[1]]);
        const end = this.at + length;
        const items: DBusValue[] = [];
        while (this.at < end) items.push(this.value(type.slice(1)));
        return items;
      }
      case '(':
      case '{':
        this.align(8);
        return splitSignature(type.slice(1, -1)).map((f) => this.value(f));
      default:
        throw new Error(`D-Bus type "${type}" cannot be read`);
    }
  }

  private string(length: number): string {
    if (this.at + length + 1 > this.buf.length) throw new Error('D-Bus message is cut short');
    const s = this.buf.toString('utf8', this.at, this.at + length);
    this.at += length + 1;
    return s;
  }
}

/** Marshals a whole message: the fixed header, the header fields, padding, the body. */
export function encodeMessage(m: Omit<Message, 'flags'> & { flags?: number }): Buffer {
  const body = new Writer();
  splitSignature(m.signature).forEach((t, i) => body.value(t, m.body[i]));
  const fields: DBusValue[] = [];
  const field = (code: number, value: string | number | undefined): void => {
    if (value !== undefined) fields.push([code, { signature: HEADER_FIELD_TYPES[code], value }]);
  };
  field(HeaderField.path, m.path);
  field(HeaderField.interface, m.interface);
  field(HeaderField.member, m.member);
  field(HeaderField.errorName, m.errorName);
  field(HeaderField.replySerial, m.replySerial);
  field(HeaderField.destination, m.destination);
  field(HeaderField.sender, m.sender);
  if (m.signature !== '') field(HeaderField.signature, m.signature);
  const header = new Writer();
  header.value('y', 'l'.charCodeAt(0));
  header.value('y', m.type);
  header.value('y', m.flags ?? 0);
  header.value('y', 1);
  header.value('u', body.length);
  header.value('u', m.serial);
  header.value('a(yv)', fields);
  header.align(8);
  return Buffer.concat([header.result(), body.result()]);
}

/** How many bytes the message starting `prefix` (at least 16 bytes) takes in all. */
export function messageLength(prefix: Buffer): number {
  if (prefix[0] !== 'l'.charCodeAt(0)) throw new Error(`D-Bus: only little-endian messages are read (got "${String.fromCharCode(prefix[0])}")`);
  const bodyLength = prefix.readUInt32LE(4);
  const fieldsLength = prefix.readUInt32LE(12);
  const headerEnd = 16 + fieldsLength;
  return headerEnd + ((8 - (headerEnd % 8)) % 8) + bodyLength;
}

/** Unmarshals one whole message (exactly messageLength bytes). */
export function decodeMessage(data: Buffer): Message {
  const bodyLength = data.readUInt32LE(4);
  const reader = new Reader(data, 12);
  const fields = reader.value('a(yv)') as [number, Variant][];
  const m: Message = { type: data[1], flags: data[2], serial: data.readUInt32LE(8), signature: '', body: [] };
  for (const [code, { value }] of fields) {
    if (code === HeaderField.path) m.path = value as string;
    else if (code === HeaderField.interface) m.interface = value as string;
    else if (code === HeaderField.member) m.member = value as string;
    else if (code === HeaderField.errorName) m.errorName = value as string;
    else if (code === HeaderField.replySerial) m.replySerial = value as number;
    else if (code === HeaderField.destination) m.destination = value as string;
    else if (code === HeaderField.sender) m.sender = value as string;
    else if (code === HeaderField.signature) m.signature = value as string;
  }
  const bodyStart = data.length - bodyLength;
  const body = new Reader(data.subarray(bodyStart));
  m.body = splitSignature(m.signature).map((t) => body.value(t));
  return m;
}
