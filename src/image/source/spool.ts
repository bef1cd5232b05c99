// Writing an image archive that cannot be read in place (compressed, or
// coming from a pipe) into a directory, to be read as a layout afterwards.
// Only the files a layout or docker-archive holds are written, under the
// names they have there; anything else in the archive is passed over.
import { linkSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { UserError } from '../../errors';
import { layoutShape, memberName } from './member-names';

/** Reads the rest of a member's data without keeping it. */
async function drain(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of entry) {
    // discarded
  }
}

async function writeFile(path: string, data: AsyncIterable<Buffer>): Promise<void> {
  // A member repeated in the archive replaces the earlier one, as tar does;
  // removing first makes O_EXCL refuse anything planted at the name meanwhile.
  rmSync(path, { force: true });
  const file = await open(path, 'wx', 0o600);
  try {
    for await (const chunk of data) await file.write(chunk);
  } finally {
    await file.close();
  }
}

/** Puts one member in place under `dir`; false when the member is passed over. */
async function spoolMember(dir: string, header: Header, entry: AsyncIterable<Buffer>, where: string): Promise<boolean> {
  let name: string | null;
  try {
    name = memberName(header.name);
  } catch (err) {
    throw new UserError(`${where}: ${(err as Error).message}`);
  }
  const shape = name === null ? null : layoutShape(name);
  if (name === null || shape === null) return false;
  const path = join(dir, name);
  if (header.type === 'directory' && shape === 'directory') {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return false;
  }
  if (shape !== 'file') return false;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (header.type === 'file' || header.type === 'contiguous-file') {
    await writeFile(path, entry);
    return true;
  }
  rmSync(path, { force: true });
  // Links are kept as links: names are resolved within the spool directory
  // when read (DirectoryFiles), so neither kind can reach outside it.
  if (header.type === 'symlink') symlinkSync(header.linkname, path);
  else if (header.type === 'link') linkToMember(dir, header.linkname, path, where);
  return false;
}

function linkToMember(dir: string, target: string, path: string, where: string): void {
  let name: string | null;
  try {
    name = memberName(target);
  } catch (err) {
    throw new UserError(`${where}: hard link ${path}: ${(err as Error).message}`);
  }
  if (name === null || layoutShape(name) !== 'file') return;
  try {
    linkSync(join(dir, name), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Writes the layout files of the uncompressed tar `archive` under `dir`
 * (which must exist, empty). `where` names the archive in errors.
 */
export async function spoolArchive(archive: Readable, dir: string, where: string): Promise<void> {
  const ex = extract();
  archive.on('error', (err) => ex.destroy(err));
  archive.pipe(ex as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of ex) {
      const written = await spoolMember(dir, entry.header, entry as AsyncIterable<Buffer>, where);
      if (!written) await drain(entry);
    }
  } catch (err) {
    archive.destroy();
    if (err instanceof UserError) throw err;
    const message = (err as Error).message;
    if (/Unexpected end of data/.test(message)) throw new UserError(`${where}: truncated archive (it ends inside a member)`, { cause: err });
    if (/Invalid tar header|checksum/i.test(message)) throw new UserError(`${where}: corrupt archive (${message})`, { cause: err });
    throw err;
  }
}
