// What the first bytes of a file or stream say it is. Compression is read
// from the content, never from the name: `podman save` output, a .tgz or a
// rootfs piped in on stdin all look the same to a file-name test.
import { UserError } from '../../errors';
import type { Compression } from './media-types';

/** Bytes needed to tell the formats below apart. */
export const MAGIC_BYTES = 6;

const FORMATS: { magic: number[]; compression: Compression | string }[] = [
  { magic: [0x1f, 0x8b], compression: 'gzip' },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], compression: 'zstd' },
  // Formats seen in the wild that tsrun does not decode: named in the error.
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], compression: 'xz' },
  { magic: [0x42, 0x5a, 0x68], compression: 'bzip2' },
];

/** The compression `head` starts with ("none" for anything else); throws for xz and bzip2. */
export function compressionOf(head: Buffer, where: string): Compression {
  for (const { magic, compression } of FORMATS) {
    if (head.length < magic.length || !magic.every((b, i) => head[i] === b)) continue;
    if (compression === 'gzip' || compression === 'zstd') return compression;
    throw new UserError(`${where} is ${compression}-compressed: tsrun reads gzip and zstd; decompress it first (e.g. ${compression} -dc)`);
  }
  return 'none';
}
