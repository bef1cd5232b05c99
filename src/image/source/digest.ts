// Content digests as the image-spec writes them ("sha256:<hex>"): parsing,
// computing, checking a small blob, and the short form used in messages.
import { createHash, type Hash } from 'node:crypto';

/** Hex lengths of the algorithms descriptor.md registers; others are refused. */
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: string;
  hex: string;
}

/** The parts of a well-formed digest, or null for anything else. */
export function parseDigest(digest: unknown): ParsedDigest | null {
  if (typeof digest !== 'string') return null;
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(digest);
  if (m === null || HEX_LENGTH[m[1]] !== m[2].length) return null;
  return { algorithm: m[1], hex: m[2] };
}

/** A running hash for `digest`'s algorithm (sha256 when there is no digest to match). */
export function hasherFor(digest: string | null): { hash: Hash; algorithm: string } {
  const algorithm = (digest !== null ? parseDigest(digest)?.algorithm : undefined) ?? 'sha256';
  return { hash: createHash(algorithm), algorithm };
}

export function digestOf(data: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** "sha256:0123456789ab…": enough to tell blobs apart in a one-line message. */
export function shortDigest(digest: string): string {
  const p = parseDigest(digest);
  return p === null ? digest : `${p.algorithm}:${p.hex.slice(0, 12)}…`;
}

/** The path of a blob inside an OCI layout (image-layout.md "Blobs"). */
export function blobPath(digest: ParsedDigest): string {
  return `blobs/${digest.algorithm}/${digest.hex}`;
}
