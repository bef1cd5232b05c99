// `tsrun bundle --from SOURCE`: what SOURCE is, told from its content (a
// directory's files, a file's or stdin's first bytes and first tar member),
// and the image found in it. An uncompressed archive file is read in place;
// a compressed one, or one on stdin, is spooled to tmpDir first; a plain
// rootfs tarball is never copied.
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { UserError } from '../../errors';
import type { ImageSource, LayerBlob } from '../types';
import { DirectoryFiles, readAtFd, TarFileFiles, type ArchiveFiles } from './archive-files';
import { decoderFor, requireZstd } from './decoders';
import { readDockerImage } from './docker-archive';
import { compressionOf } from './magic';
import { ROOTFS_TYPES, type Compression } from './media-types';
import { firstMember, kindOfFirstMember, type ArchiveKind } from './member-names';
import { readOciImage, type ChosenImage } from './oci-layout';
import { spoolArchive } from './spool';
import { prepend, sniffStream } from './stream-head';
import { TarFormatError } from './tar-headers';

export interface SourceOptions {
  /** --ref: which image when the source holds several. */
  ref?: string;
  /** An empty directory on the bundle's filesystem for spooled copies; the caller removes it. */
  tmpDir: string;
  /** What "-" reads; process.stdin by default. */
  stdin?: Readable;
}

/** Any failure while looking at `where`, as the one-line UserError the CLI prints. */
function sourceError(err: unknown, where: string): Error {
  if (err instanceof UserError) return err;
  if (err instanceof TarFormatError) {
    return err.kind === 'truncated'
      ? new UserError(`${where}: truncated archive (${err.message})`, { cause: err })
      : new UserError(`${where}: not an image archive or a tar file (${err.message})`, { cause: err });
  }
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string') return new UserError(`cannot read ${where}: ${e.code}${e.path ? ` (${e.path})` : ''}`, { cause: err });
  return new UserError(`${where}: ${(err as Error).message}`, { cause: err });
}

function imageSource(description: string, image: ChosenImage, close: () => void): ImageSource {
  const shown = image.name === null ? description : `${description} (ref ${image.name})`;
  return { description: shown, config: image.config, layers: image.layers, close };
}

function readImage(kind: ArchiveKind | 'oci layout', files: ArchiveFiles, where: string, ref: string | undefined): ChosenImage {
  return kind === 'docker-archive' ? readDockerImage(files, where, ref) : readOciImage(files, where, ref);
}

/** A plain rootfs tarball: one layer, no config. */
function rootfsSource(where: string, compression: Compression, size: number | null, open: () => Readable): ImageSource {
  const layer: LayerBlob = { digest: null, diffId: null, size, mediaType: ROOTFS_TYPES[compression], open };
  return { description: `rootfs tarball ${where}`, config: null, layers: [layer], close: () => undefined };
}

/** Spools the decoded archive `stream` into a new directory under tmpDir and reads the image there. */
async function spooledSource(kind: ArchiveKind, stream: Readable, name: string, options: SourceOptions): Promise<ImageSource> {
  const where = `${kind} ${name}`;
  const dir = mkdtempSync(join(options.tmpDir, 'spool-'));
  const close = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    await spoolArchive(stream, dir, where);
    return imageSource(where, readImage(kind, new DirectoryFiles(dir), where, options.ref), close);
  } catch (err) {
    close();
    throw sourceError(err, where);
  }
}

function openDirectory(dir: string, options: SourceOptions): ImageSource {
  const files = new DirectoryFiles(dir);
  if (files.size('oci-layout') !== null && files.size('index.json') !== null) {
    const where = `oci layout ${dir}`;
    return imageSource(where, readImage('oci layout', files, where, options.ref), () => undefined);
  }
  if (files.size('manifest.json') !== null) {
    const where = `docker-archive directory ${dir}`;
    return imageSource(where, readImage('docker-archive', files, where, options.ref), () => undefined);
  }
  throw new UserError(`${dir}: a directory, but neither an OCI image layout (oci-layout and index.json) nor an unpacked docker-archive (manifest.json)`);
}

/** The first bytes of `file`, and its first tar member when it is an uncompressed tar. */
function inspectFile(file: string): { compression: Compression; first: string | null } {
  const fd = openSync(file, 'r');
  try {
    const readAt = readAtFd(fd);
    const compression = compressionOf(readAt(0, 8), file);
    if (compression === 'zstd') requireZstd(file);
    return { compression, first: compression === 'none' ? firstMember(readAt) : null };
  } finally {
    closeSync(fd);
  }
}

async function openFile(file: string, size: number, options: SourceOptions): Promise<ImageSource> {
  if (size === 0) throw new UserError(`${file} is empty: expected an image archive or a rootfs tarball`);
  const { compression, first } = inspectFile(file);
  if (compression === 'none') {
    const kind = first === null ? 'rootfs' : kindOfFirstMember(first);
    if (kind === 'rootfs') return rootfsSource(file, compression, size, () => createReadStream(file));
    const where = `${kind} ${file}`;
    try {
      return imageSource(where, readImage(kind, TarFileFiles.load(file), where, options.ref), () => undefined);
    } catch (err) {
      throw sourceError(err, where);
    }
  }
  const sniffed = createReadStream(file);
  const head = await sniffStream(sniffed, file).finally(() => sniffed.destroy());
  const kind = head.firstMember === null ? 'rootfs' : kindOfFirstMember(head.firstMember);
  if (kind === 'rootfs') return rootfsSource(file, compression, size, () => createReadStream(file));
  const decoder = decoderFor(compression, file);
  const stream = createReadStream(file);
  stream.on('error', (err) => decoder.destroy(err));
  return spooledSource(kind, stream.pipe(decoder), file, options);
}

/** stdin, or a FIFO or device named on the command line: read once, front to back. */
async function openStream(input: Readable, name: string, options: SourceOptions): Promise<ImageSource> {
  const head = await sniffStream(input, name);
  const kind = head.firstMember === null ? 'rootfs' : kindOfFirstMember(head.firstMember);
  const whole = (): Readable => prepend(head.raw, input, head.ended);
  if (kind !== 'rootfs') {
    const decoder = decoderFor(head.compression, name);
    const stream = whole();
    stream.on('error', (err) => decoder.destroy(err));
    return spooledSource(kind, stream.pipe(decoder), name, options);
  }
  let opened = false;
  return rootfsSource(name, head.compression, null, () => {
    // A pipe cannot be rewound: the one layer of a rootfs from stdin is read once.
    if (opened) throw new UserError(`${name}: the rootfs tarball on it was already read; it can be read only once`);
    opened = true;
    return whole();
  });
}

/** Opens what `--from` names: "-" for stdin, a file, or a directory. */
export async function openImageSource(from: string, options: SourceOptions): Promise<ImageSource> {
  const name = from === '-' ? 'stdin' : from;
  try {
    if (from === '-') return await openStream(options.stdin ?? process.stdin, name, options);
    const st = statSync(from);
    if (st.isDirectory()) return openDirectory(from, options);
    if (st.isFile()) return await openFile(from, st.size, options);
    return await openStream(createReadStream(from), name, options);
  } catch (err) {
    throw sourceError(err, name);
  }
}
