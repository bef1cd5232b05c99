// A layer's uncompressed tar, checked as it passes: the stored bytes
// against the descriptor's digest and size, the tar against the config's
// diff_id. A mismatch fails the stream before it ends, so the layer
// writer never finishes a layer that is not the one the image names.
import type { Hash } from 'node:crypto';
import { PassThrough, Transform, type Duplex, type Readable, type TransformCallback } from 'node:stream';
import { UserError } from '../../errors';
import type { LayerBlob } from '../types';
import { decoderFor } from './decoders';
import { hasherFor, shortDigest } from './digest';
import { compressionOf, MAGIC_BYTES } from './magic';
import { layerCompression, type Compression } from './media-types';

/** Counts the bytes that pass, and hashes them when there is a digest to match. */
class Tap extends Transform {
  private readonly hash: Hash | null;
  private readonly algorithm: string;
  bytes = 0;
  /** The digest, once the stream has ended (null when there was nothing to match). */
  digest: string | null = null;

  constructor(
    expected: string | null,
    private readonly onBytes?: (n: number) => void,
  ) {
    super();
    const { hash, algorithm } = hasherFor(expected);
    // A rootfs tarball names no digest: hashing it would only cost time.
    this.hash = expected === null ? null : hash;
    this.algorithm = algorithm;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.hash?.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.hash !== null) this.digest = `${this.algorithm}:${this.hash.digest('hex')}`;
    callback();
  }
}

/** The uncompressed end of the chain: checks both digests before letting the stream end. */
class Verify extends Tap {
  constructor(
    private readonly layer: LayerBlob,
    private readonly stored: Tap,
  ) {
    super(layer.diffId);
  }

  override _flush(callback: TransformCallback): void {
    super._flush((err) => callback(err ?? this.mismatch()));
  }

  private mismatch(): Error | null {
    const { layer, stored } = this;
    const name = layerName(layer);
    if (layer.size !== null && stored.bytes !== layer.size) {
      return new UserError(`${name}: size mismatch (expected ${layer.size} bytes, got ${stored.bytes})`);
    }
    if (layer.digest !== null && stored.digest !== layer.digest) {
      return new UserError(`${name}: digest mismatch (expected ${layer.digest}, got ${stored.digest})`);
    }
    if (layer.diffId !== null && this.digest !== layer.diffId) {
      return new UserError(`${name}: uncompressed digest mismatch (expected diff_id ${layer.diffId}, got ${this.digest})`);
    }
    return null;
  }
}

/** "layer sha256:0123456789ab…", by the stored digest, else the diff_id. */
export function layerName(layer: LayerBlob): string {
  const id = layer.digest ?? layer.diffId;
  return id === null ? 'rootfs tarball' : `layer ${shortDigest(id)}`;
}

/**
 * The layer's uncompressed tar stream. `onStoredBytes` is told the size of
 * each stored (compressed) chunk read, for a progress bar. Errors (read,
 * decompression, digest) are emitted by the returned stream, one line each.
 */
export function openLayerTar(layer: LayerBlob, onStoredBytes?: (n: number) => void): Readable {
  const name = layerName(layer);
  const compression = layerCompression(layer.mediaType);
  if (compression === null) throw new UserError(`${name}: media type ${JSON.stringify(layer.mediaType)} cannot be unpacked`);
  const stored = new Tap(layer.digest, onStoredBytes);
  const out = new Verify(layer, stored);
  const source = layer.open();
  const parts: (Readable | Duplex)[] = [source, stored, out];
  const fail = (err: Error): void => {
    for (const p of parts) if (p !== out) p.destroy();
    out.destroy(err instanceof UserError ? err : new UserError(`${name}: ${err.message}`, { cause: err }));
  };
  source.on('error', fail);
  // The consumer giving up (a layer writer failing) stops the reading too.
  out.on('close', () => parts.forEach((p) => p !== out && p.destroy()));
  source.pipe(stored);
  if (compression === 'sniff') {
    whenSniffed(stored, name)
      .then(({ compression: c, stream }) => connect(stream, c, name, out, parts, fail))
      .catch(fail);
  } else connect(stored, compression, name, out, parts, fail);
  return out;
}

function connect(from: Readable, compression: Compression, name: string, out: Verify, parts: (Readable | Duplex)[], fail: (e: Error) => void): void {
  if (out.destroyed) return;
  let decoder: Duplex;
  try {
    decoder = decoderFor(compression, name);
  } catch (err) {
    return fail(err as Error);
  }
  parts.push(decoder);
  decoder.on('error', fail);
  from.pipe(decoder).pipe(out);
}

/** The compression the first bytes of `stored` show, and a stream of all of it again. */
async function whenSniffed(stored: Readable, name: string): Promise<{ compression: Compression; stream: Readable }> {
  const head: Buffer[] = [];
  let length = 0;
  for await (const chunk of stored.iterator({ destroyOnReturn: false })) {
    head.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= MAGIC_BYTES) break;
  }
  const first = Buffer.concat(head);
  const compression = compressionOf(first, name);
  const stream = new PassThrough();
  stream.write(first);
  if (stored.readableEnded) stream.end();
  else stored.pipe(stream);
  return { compression, stream };
}
