// Names of the files inside an image archive: how they are normalised, which
// are refused, and what the first one says the archive is.
import { climbsOut, entryPath } from '../root-path';
import { END, readMember, type ReadAt } from './tar-headers';

export type ArchiveKind = 'oci-archive' | 'docker-archive' | 'rootfs';

const HEX64 = '[a-f0-9]{64}';

/** The files an OCI layout, a docker-archive (old and new) or docker 25's mix of both holds. */
const FILE_SHAPES = [
  /^oci-layout$/,
  /^index\.json$/,
  /^blobs\/[a-z0-9]+\/[a-f0-9]+$/,
  /^manifest\.json$/,
  /^repositories$/,
  new RegExp(`^${HEX64}\\.(tar|json)$`),
  new RegExp(`^${HEX64}/(layer\\.tar|json|VERSION)$`),
];

/** The directories that hold them: never anything else, so never a symlink. */
const DIRECTORY_SHAPES = [/^blobs$/, /^blobs\/[a-z0-9]+$/, new RegExp(`^${HEX64}$`)];

/**
 * "./a//b/" -> "a/b"; null for the archive's root ("./"). Throws for an
 * absolute name or one that climbs out with "..", whatever the archive.
 */
export function memberName(raw: string): string | null {
  if (raw.startsWith('/')) throw new Error(`absolute member name ${JSON.stringify(raw)}`);
  if (raw.split('/').includes('..') || climbsOut(raw)) throw new Error(`member name ${JSON.stringify(raw)} contains ".."`);
  return entryPath(raw);
}

/** What `name` (normalised) can be in a layout or docker-archive: a file, a directory, or nothing. */
export function layoutShape(name: string): 'file' | 'directory' | null {
  if (FILE_SHAPES.some((re) => re.test(name))) return 'file';
  if (DIRECTORY_SHAPES.some((re) => re.test(name))) return 'directory';
  return null;
}

/**
 * What an archive is, from its first member (after the root "./"): a layout
 * starts with its layout files or blobs, `docker save` with an image id
 * directory, `podman save` with its layers ("<diff id>.tar", manifest.json
 * last); anything else is a root filesystem.
 */
export function kindOfFirstMember(name: string): ArchiveKind {
  if (name === 'oci-layout' || name === 'index.json' || name === 'blobs' || name.startsWith('blobs/')) return 'oci-archive';
  if (name === 'manifest.json' || name === 'repositories') return 'docker-archive';
  if (new RegExp(`^${HEX64}(\\.tar|\\.json|/.*)?$`).test(name)) return 'docker-archive';
  return 'rootfs';
}

/** The first member's name (normalised, the root "./" passed over); null for an archive with none. */
export function firstMember(readAt: ReadAt): string | null {
  for (let offset = 0; ; ) {
    const r = readMember(readAt, offset);
    if (r === END) return null;
    const name = memberName(r.member.name);
    if (name !== null) return name;
    offset = r.next;
  }
}
