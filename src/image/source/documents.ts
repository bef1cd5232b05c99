// The small JSON documents of an image (index, manifest, config): read
// whole, checked against the digest and size that point at them, parsed.
import type { ImageConfig } from '../types';
import { UserError } from '../../errors';
import type { ArchiveFiles } from './archive-files';
import { digestOf, parseDigest, shortDigest } from './digest';

/** A JSON document larger than this is refused rather than read into memory. */
const DOCUMENT_LIMIT = 64 * 1024 * 1024;

/** `text` parsed; `what` and `where` name it in the error ("manifest sha256:…", "oci-archive x.tar"). */
export function parseJson(data: Buffer, what: string, where: string): unknown {
  try {
    return JSON.parse(data.toString('utf8')) as unknown;
  } catch (err) {
    throw new UserError(`${where}: ${what} is not valid JSON (${(err as Error).message})`);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The file `name` of `files`, whose bytes must have `digest` (and `size`
 * when given). Throws a UserError naming `what` when it is missing, too
 * large, or not what the digest says.
 */
export function readVerified(files: ArchiveFiles, name: string, digest: string, size: number | null, what: string, where: string): Buffer {
  const actualSize = files.size(name);
  if (actualSize === null) throw new UserError(`${what} is not in ${where}`);
  if (size !== null && actualSize !== size) throw new UserError(`${where}: ${what} is ${actualSize} bytes, its descriptor says ${size}`);
  if (actualSize > DOCUMENT_LIMIT) throw new UserError(`${where}: ${what} is ${actualSize} bytes, more than a JSON document of an image can be`);
  const data = files.read(name);
  const algorithm = parseDigest(digest)?.algorithm ?? 'sha256';
  const got = digestOf(data, algorithm);
  if (got !== digest) throw new UserError(`${where}: ${what}: digest mismatch (expected ${digest}, got ${got})`);
  return data;
}

/** An image config document, checked for the parts tsrun relies on (rootfs.diff_ids). */
export function parseImageConfig(data: Buffer, digest: string, where: string): ImageConfig {
  const what = `config ${shortDigest(digest)}`;
  const doc = parseJson(data, what, where);
  if (!isObject(doc)) throw new UserError(`${where}: ${what} is not a JSON object`);
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw new UserError(`${where}: ${what} has no rootfs of type "layers" with diff_ids`);
  }
  const bad = rootfs.diff_ids.find((d) => parseDigest(d) === null);
  if (bad !== undefined) throw new UserError(`${where}: ${what}: rootfs.diff_ids holds ${JSON.stringify(bad)}, not a digest`);
  if (doc.config !== undefined && doc.config !== null && !isObject(doc.config)) throw new UserError(`${where}: ${what}: "config" is not an object`);
  return doc as ImageConfig;
}
