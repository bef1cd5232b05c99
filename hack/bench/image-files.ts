// The image the image benchmark unpacks, made from bytes it generates
// (nothing downloaded): four gzip layers (20,000 small files; a few big ones;
// whiteouts and an opaque directory over the first two; symlinks and hard
// links), about 200 MB uncompressed, as an OCI image layout whose index.json
// names the manifest by a ref annotation; and the filesystem those layers
// make, flattened into one rootfs .tar.gz. Layers are written with tar-stream
// and zlib, streamed, so only one file's bytes are in memory at a time.
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack, type Pack } from 'tar-stream';

/** One tar entry of a layer; whiteouts are empty files named `.wh.NAME` or `.wh..wh..opq` (image-spec layer.md). */
export interface PlannedEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of a file; 0 for the other types. */
  size: number;
  /** Picks the file's bytes from the shared text block. */
  seed: number;
  linkname?: string;
}

/** What a correct unpack of the image holds (paths relative to the rootfs). */
export interface Expectations {
  present: string[];
  absent: string[];
  /** Pairs of paths that must be one inode. */
  hardLinks: [string, string][];
  sizes: Record<string, number>;
}

export interface BenchImage {
  layout: string;
  ref: string;
  rootfsTarGz: string;
  layers: number;
  /** Regular files in the unpacked rootfs. */
  files: number;
  /** Sum of the layers' uncompressed tars. */
  layerTarBytes: number;
  layoutBytes: number;
  rootfsTarGzBytes: number;
  expect: Expectations;
}

export const REF = 'tsrun-bench';
const MIB = 1024 * 1024;
/** One mtime for every entry: the same bytes on every run. */
const MTIME = new Date('2024-01-01T00:00:00Z');
const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';

// ---------------------------------------------------------------- bytes

/** Marsaglia's xorshift32: a fixed, seedable sequence in [0, 1). */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x / 2 ** 32;
  };
}

/**
 * 1 MiB of text from a 512-word vocabulary: it compresses like real files
 * (gzip gets it to about a third), unlike zeros or random bytes.
 */
function textBlock(): Buffer {
  const rand = xorshift(20240101);
  const letters = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join('');
  const words = Array.from({ length: 512 }, () => letters(2 + Math.floor(rand() * 9)));
  const parts: string[] = [];
  for (let n = 0; n < MIB; ) {
    const word = words[Math.floor(rand() * words.length)] + (rand() < 0.1 ? '\n' : ' ');
    parts.push(word);
    n += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, MIB);
}

/** A file's bytes: 64 KiB slices of the block from offsets its seed picks (gzip's window is 32 KiB, so repeats do not help it). */
function contentOf(e: PlannedEntry, block: Buffer): Buffer {
  const out = Buffer.allocUnsafe(e.size);
  const chunk = 64 * 1024;
  for (let at = 0, i = 0; at < e.size; at += chunk, i++) {
    const n = Math.min(chunk, e.size - at);
    const from = ((e.seed * 7919 + i * 104729) % (block.length - n)) >>> 0;
    block.copy(out, at, from, from + n);
  }
  return out;
}

// ---------------------------------------------------------------- the layers

const dir = (path: string, uid = 0): PlannedEntry => ({ path, type: 'directory', mode: 0o755, uid, gid: uid, size: 0, seed: 0 });
const file = (path: string, size: number, seed: number, mode = 0o644, uid = 0): PlannedEntry => ({ path, type: 'file', mode, uid, gid: uid, size, seed });
const symlink = (path: string, target: string): PlannedEntry => ({ path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, seed: 0, linkname: target });
const hardlink = (path: string, target: string): PlannedEntry => ({ path, type: 'link', mode: 0o644, uid: 0, gid: 0, size: 0, seed: 0, linkname: target });
const whiteout = (path: string): PlannedEntry => file(path, 0, 0);
const pad = (n: number): string => String(n).padStart(3, '0');

/** `count` directories of `perDir` files of 0.5-8 KiB under `base`; some executable, some owned by uid 1000. */
function smallFiles(base: string, count: number, perDir: number, rand: () => number, seed: number): PlannedEntry[] {
  const out: PlannedEntry[] = [];
  for (let d = 0; d < count; d++) {
    const uid = d % 20 === 0 ? 1000 : 0;
    out.push(dir(`${base}${pad(d)}`, uid));
    for (let f = 0; f < perDir; f++) {
      out.push(file(`${base}${pad(d)}/f${pad(f)}`, 512 + Math.floor(rand() * 7681), seed++, f % 10 === 0 ? 0o755 : 0o644, uid));
    }
  }
  return out;
}

function layerSmallFiles(rand: () => number): PlannedEntry[] {
  return [dir('etc'), file('etc/bench.conf', 700, 1), dir('usr'), dir('usr/share'), dir('usr/share/bench'), ...smallFiles('usr/share/bench/d', 200, 100, rand, 100)];
}

function layerBigFiles(): PlannedEntry[] {
  const sizes = [32, 24, 16, 16];
  return [dir('opt'), dir('opt/bench'), ...sizes.map((mib, i) => file(`opt/bench/blob-${i}`, mib * MIB, 900000 + i))];
}

/** Deletes a directory, ten files and a big file of the layers below, hides one directory's old content (opaque), replaces a big file. */
function layerWhiteouts(rand: () => number): PlannedEntry[] {
  const out = [dir('usr'), dir('usr/share'), dir('usr/share/bench'), whiteout(`usr/share/bench/${WHITEOUT}d007`), dir('usr/share/bench/d001')];
  for (let f = 0; f < 10; f++) out.push(whiteout(`usr/share/bench/d001/${WHITEOUT}f${pad(f)}`));
  out.push(dir('usr/share/bench/d010'), whiteout(`usr/share/bench/d010/${OPAQUE}`));
  for (let f = 0; f < 20; f++) out.push(file(`usr/share/bench/d010/new-${pad(f)}`, 2000, 500000 + f));
  out.push(dir('opt'), dir('opt/bench'), whiteout(`opt/bench/${WHITEOUT}blob-2`), file('opt/bench/blob-3', MIB, 910000));
  out.push(dir('var'), dir('var/lib'), dir('var/lib/bench'), ...smallFiles('var/lib/bench/n', 20, 100, rand, 600000));
  return out;
}

function layerLinks(): PlannedEntry[] {
  const out = [dir('srv'), dir('srv/links')];
  for (let i = 0; i < 50; i++) out.push(file(`srv/links/target-${pad(i)}`, 3000, 700000 + i));
  for (let i = 0; i < 50; i++) {
    out.push(hardlink(`srv/links/hard-${pad(i)}`, `srv/links/target-${pad(i)}`));
    out.push(symlink(`srv/links/sym-rel-${pad(i)}`, `target-${pad(i)}`));
    out.push(symlink(`srv/links/sym-abs-${pad(i)}`, `/usr/share/bench/d002/f${pad(i)}`));
  }
  out.push(symlink('srv/links/bench-dir', '../../usr/share/bench'), symlink('srv/links/dangling', '/nonexistent/file'));
  return out;
}

const EXPECT: Expectations = {
  present: ['etc/bench.conf', 'usr/share/bench/d000/f000', 'usr/share/bench/d199/f099', 'usr/share/bench/d001/f010', 'usr/share/bench/d010/new-000', 'opt/bench/blob-0', 'var/lib/bench/n019/f099', 'srv/links/sym-rel-000', 'srv/links/sym-abs-049', 'srv/links/dangling'],
  absent: ['usr/share/bench/d007', 'usr/share/bench/d001/f000', 'usr/share/bench/d010/f000', 'opt/bench/blob-2', `usr/share/bench/d010/${OPAQUE}`, `usr/share/bench/${WHITEOUT}d007`],
  hardLinks: [['srv/links/hard-000', 'srv/links/target-000'], ['srv/links/hard-049', 'srv/links/target-049']],
  sizes: { 'opt/bench/blob-3': MIB, 'opt/bench/blob-0': 32 * MIB },
};

// ---------------------------------------------------------------- flattening

/** The path a whiteout entry removes, and whether it is opaque (removes only what is under it); null for other entries. */
function whiteoutOf(path: string): { path: string; opaque: boolean } | null {
  const slash = path.lastIndexOf('/');
  const parent = path.slice(0, Math.max(slash, 0));
  const base = path.slice(slash + 1);
  if (base === OPAQUE) return { path: parent, opaque: true };
  if (!base.startsWith(WHITEOUT)) return null;
  return { path: (parent ? `${parent}/` : '') + base.slice(WHITEOUT.length), opaque: false };
}

/** The filesystem the layers make, in an order a tar can hold it (a hard link after its target). */
export function flatten(layers: PlannedEntry[][]): PlannedEntry[] {
  const tree = new Map<string, PlannedEntry>();
  for (const layer of layers) {
    // A layer's whiteouts hide only what the layers below it made.
    for (const e of layer) {
      const w = whiteoutOf(e.path);
      if (w === null) continue;
      for (const key of tree.keys()) if (key.startsWith(`${w.path}/`) || (!w.opaque && key === w.path)) tree.delete(key);
    }
    for (const e of layer) {
      if (whiteoutOf(e.path) !== null) continue;
      // A directory keeps its place (before its children); anything else moves to the end.
      if (e.type !== 'directory') tree.delete(e.path);
      tree.set(e.path, e);
    }
  }
  return [...tree.values()];
}

// ---------------------------------------------------------------- writing

/** A pass-through stream that hashes (sha256) and counts what goes through it. */
function hashing(): { stream: Transform; digest(): string; bytes(): number } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb): void {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, digest: () => `sha256:${hash.digest('hex')}`, bytes: () => bytes };
}

function addEntry(tar: Pack, e: PlannedEntry, block: Buffer): Promise<void> {
  const header = { name: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: MTIME, size: e.size, linkname: e.linkname };
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (e.type === 'file') tar.entry(header, contentOf(e, block), cb);
    else tar.entry(header, cb);
  });
}

interface WrittenTar {
  /** sha256 of the uncompressed tar (the config's diff_id). */
  diffId: string;
  /** sha256 and size of the gzip file. */
  digest: string;
  size: number;
  tarBytes: number;
}

/** Writes `entries` as a gzip tar to `out`, hashing both forms on the way. */
async function writeTarGz(entries: PlannedEntry[], out: string, block: Buffer): Promise<WrittenTar> {
  const tar = pack();
  const plain = hashing();
  const stored = hashing();
  const written = pipeline(plain.stream, createGzip(), stored.stream, createWriteStream(out));
  tar.pipe(plain.stream);
  const produce = async (): Promise<void> => {
    for (const e of entries) await addEntry(tar, e, block);
    tar.finalize();
  };
  // A failed write (disk full) ends `written` first; without the race the producer would wait for it forever.
  await Promise.race([produce(), written]);
  await written;
  return { diffId: plain.digest(), digest: stored.digest(), size: stored.bytes(), tarBytes: plain.bytes() };
}

// ---------------------------------------------------------------- the layout

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Writes a JSON blob into the layout; returns its descriptor. */
function jsonBlob(layout: string, mediaType: string, value: unknown): { mediaType: string; digest: string; size: number } {
  const data = Buffer.from(JSON.stringify(value));
  const digest = sha256(data);
  writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), data);
  return { mediaType, digest, size: data.length };
}

function goArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/** The config, manifest, index.json and oci-layout of the written layers. */
function writeLayoutFiles(layout: string, layers: WrittenTar[]): void {
  const config = jsonBlob(layout, 'application/vnd.oci.image.config.v1+json', {
    created: MTIME.toISOString(),
    architecture: goArch(),
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: MTIME.toISOString(), created_by: `tsrun hack/bench/image-files.ts layer ${i + 1}` })),
  });
  const manifest = jsonBlob(layout, 'application/vnd.oci.image.manifest.v1+json', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config,
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  });
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': REF } }] };
  writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

/** Makes `dir`/layout (the OCI image layout) and `dir`/rootfs.tar.gz; `dir` must exist. */
export async function makeBenchImage(dir: string, progress: (message: string) => void = () => undefined): Promise<BenchImage> {
  const block = textBlock();
  const rand = xorshift(7);
  const layers = [layerSmallFiles(rand), layerBigFiles(), layerWhiteouts(rand), layerLinks()];
  const layout = join(dir, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const written: WrittenTar[] = [];
  for (const [i, entries] of layers.entries()) {
    progress(`image: writing layer ${i + 1}/${layers.length} (${entries.length} entries)`);
    const tmp = join(layout, 'blobs', `layer-${i}.tmp`);
    const w = await writeTarGz(entries, tmp, block);
    renameSync(tmp, join(layout, 'blobs', 'sha256', w.digest.slice(7)));
    written.push(w);
  }
  writeLayoutFiles(layout, written);
  progress('image: writing the flattened rootfs .tar.gz');
  const flat = flatten(layers);
  const rootfsTarGz = join(dir, 'rootfs.tar.gz');
  await writeTarGz(flat, rootfsTarGz, block);
  return {
    layout,
    ref: REF,
    rootfsTarGz,
    layers: layers.length,
    files: flat.filter((e) => e.type === 'file').length,
    layerTarBytes: written.reduce((n, w) => n + w.tarBytes, 0),
    layoutBytes: written.reduce((n, w) => n + w.size, 0),
    rootfsTarGzBytes: statSync(rootfsTarGz).size,
    expect: EXPECT,
  };
}
