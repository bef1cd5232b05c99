// Hand-made image layers for the layer writer's tests: tar-stream's pack()
// into bytes, and the bytes as a Node stream in small chunks.
import { Readable } from 'node:stream';
import { pack, type Header } from 'tar-stream';

export type LayerTestEntry = Partial<Header> & { name: string; data?: string | Buffer };

/** The mtime every entry gets unless it names one. */
export const T0 = new Date('2020-01-02T03:04:05Z');

/** A whole tar archive of `entries` (files 0644, directories 0755 unless they say). */
export async function tarOf(entries: LayerTestEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const { data, ...header } of entries) {
    const h = { mtime: T0, mode: header.type === 'directory' ? 0o755 : 0o644, ...header };
    await new Promise<void>((resolve, reject) => p.entry(h, data ?? '', (err) => (err ? reject(err) : resolve())));
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/**
 * `tarOf`, with the PAX record value `placeholder` (ASCII, as tar-stream's
 * pack writes only UTF-8) replaced by the bytes `value` of the same length.
 */
export async function tarWithBinaryPax(entries: LayerTestEntry[], placeholder: string, value: Buffer): Promise<Buffer> {
  if (placeholder.length !== value.length) throw new Error('placeholder and value differ in length');
  const bytes = await tarOf(entries);
  const at = bytes.indexOf(`=${placeholder}\n`);
  if (at < 0) throw new Error('placeholder not in the archive');
  value.copy(bytes, at + 1);
  return bytes;
}

/** The bytes as a Node stream, in chunks of `size` (so entries straddle chunks). */
export function streamOf(bytes: Buffer, size = 1000): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}
