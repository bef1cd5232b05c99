// Looking at the start of a stream that cannot be read twice (stdin, a
// pipe): its magic bytes, and the first tar member inside whatever
// compression it has, while keeping every byte read so that the stream can
// be handed on whole afterwards.
import { Readable, type Duplex } from 'node:stream';
import { UserError } from '../../errors';
import { decoderFor } from './decoders';
import { compressionOf, MAGIC_BYTES } from './magic';
import type { Compression } from './media-types';
import { firstMember } from './member-names';
import { TarFormatError } from './tar-headers';

/** How far into a stream the first tar member is looked for before giving up. */
const HEAD_LIMIT = 16 * 1024 * 1024;

type Next = Buffer | 'end' | 'cancelled';

/** A pending read of the next chunk of a paused stream; cancel() leaves the stream untouched. */
function nextChunk(input: Readable): { chunk: Promise<Next>; cancel(): void } {
  let cancel = (): void => undefined;
  const chunk = new Promise<Next>((resolve, reject) => {
    const cleanup = (): void => {
      input.off('readable', onReadable);
      input.off('end', onEnd);
      input.off('error', onError);
    };
    const onReadable = (): void => {
      const c = input.read() as Buffer | null;
      if (c === null) return;
      cleanup();
      resolve(c);
    };
    const onEnd = (): void => {
      cleanup();
      resolve('end');
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    cancel = () => {
      cleanup();
      resolve('cancelled');
    };
    if (input.readableEnded) return onEnd();
    input.on('readable', onReadable);
    input.on('end', onEnd);
    input.on('error', onError);
  });
  return { chunk, cancel: () => cancel() };
}

/** Every byte of `input`: the `raw` bytes already taken from it, then the rest (nothing more when it had `ended`). */
export function prepend(raw: Buffer, input: Readable, ended: boolean): Readable {
  async function* all(): AsyncGenerator<Buffer> {
    yield raw;
    if (ended) return;
    for await (const chunk of input) yield chunk as Buffer;
  }
  return Readable.from(all(), { objectMode: false });
}

/** The start of a stream, as read. */
export interface StreamHead {
  /** Every byte taken from the stream, still compressed. */
  raw: Buffer;
  /** Whether the stream ended within `raw`. */
  ended: boolean;
  compression: Compression;
  /** The first member's name (normalised, the root "./" skipped); null for an empty archive. */
  firstMember: string | null;
}

/** The first member name in `decoded` (an uncompressed tar start); undefined when more bytes are needed. */
export function firstMemberIn(decoded: Buffer, complete: boolean): string | null | undefined {
  const readAt = (offset: number, length: number): Buffer => {
    const part = decoded.subarray(offset, offset + length);
    if (part.length < length && !complete) throw NEED_MORE;
    return part;
  };
  try {
    return firstMember(readAt);
  } catch (err) {
    if (err === NEED_MORE) return undefined;
    throw err;
  }
}

const NEED_MORE = new Error('need more bytes');

/** The first member name of the tar `decoder` puts out, as soon as it shows. */
function firstMemberOfDecoded(decoder: Duplex): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const check = (complete: boolean): void => {
      if (settled) return;
      try {
        const name = firstMemberIn(Buffer.concat(chunks), complete);
        if (name === undefined && length < HEAD_LIMIT) return;
        if (name === undefined) throw new TarFormatError('invalid', `no tar member in the first ${HEAD_LIMIT} bytes`);
        settled = true;
        resolve(name);
      } catch (err) {
        settled = true;
        reject(err as Error);
      }
    };
    decoder.on('data', (c: Buffer) => {
      chunks.push(c);
      length += c.length;
      check(false);
    });
    decoder.on('end', () => check(true));
    decoder.on('error', (err) => {
      settled = true;
      reject(err);
    });
  });
}

/** Takes chunks from a stream and keeps them, until told to stop or the stream ends. */
class HeadReader {
  readonly raw: Buffer[] = [];
  length = 0;
  ended = false;
  stopped = false;
  private pending: { cancel(): void } | null = null;

  constructor(private readonly input: Readable) {}

  /** Reads until at least `want` bytes are in, or the end. */
  async readAtLeast(want: number): Promise<void> {
    while (this.length < want && !this.ended) await this.readOne();
  }

  /** One more chunk; null when there is none (stopped or ended). */
  async readOne(): Promise<Buffer | null> {
    if (this.stopped || this.ended) return null;
    const next = nextChunk(this.input);
    this.pending = next;
    const c = await next.chunk;
    this.pending = null;
    if (c === 'end') this.ended = true;
    if (typeof c === 'string') return null;
    this.raw.push(c);
    this.length += c.length;
    return c;
  }

  /** Stops reading; a chunk already taken from the stream is still kept. */
  stop(): void {
    this.stopped = true;
    this.pending?.cancel();
  }
}

/**
 * Reads `input` until the first tar member inside it is known. `where`
 * names the stream in errors. The stream is left paused after `raw`.
 */
export async function sniffStream(input: Readable, where: string): Promise<StreamHead> {
  const head = new HeadReader(input);
  await head.readAtLeast(MAGIC_BYTES);
  if (head.length === 0) throw new UserError(`${where} is empty: expected an image archive or a rootfs tarball`);
  const compression = compressionOf(Buffer.concat(head.raw), where);
  const decoder = decoderFor(compression, where);
  const found = firstMemberOfDecoded(decoder);
  found.catch(() => undefined);
  const feed = (async () => {
    for (const c of head.raw) decoder.write(c);
    for (let c = await head.readOne(); c !== null; c = await head.readOne()) {
      if (!decoder.write(c)) await new Promise((resolve) => decoder.once('drain', resolve).once('close', resolve));
      if (head.length >= HEAD_LIMIT) break;
    }
    // Ending the decoder tells it (and the parse) that no more bytes come;
    // after a stop, more would: the decoder is destroyed instead.
    if (!head.stopped && !decoder.destroyed) decoder.end();
  })();
  try {
    const firstMember = await Promise.race([found, feed.then(() => found)]);
    head.stop();
    await feed;
    return { raw: Buffer.concat(head.raw), ended: head.ended, compression, firstMember };
  } finally {
    head.stop();
    decoder.destroy();
    await feed.catch(() => undefined);
  }
}
