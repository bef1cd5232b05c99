// Hand-made image sources for the image-source unit tests: layer tars,
// OCI layouts (with several refs, nested platform indexes, any
// compression) and docker-archives (podman's and old docker's file
// orders), as name -> bytes maps written to a directory or a tar file.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tarOf as layerTarOf } from './layer-tar';

export type Compression = 'none' | 'gzip' | 'zstd';

export interface ArchiveEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  data?: Buffer | string;
  linkname?: string;
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function hexOf(digest: string): string {
  return digest.slice('sha256:'.length);
}

/** A tar (in memory) of `entries`, in the order given (the layer tests' builder). */
export function tarOf(entries: ArchiveEntry[]): Promise<Buffer> {
  return layerTarOf(entries);
}

/** A small layer: the named files (and their directory "etc/" style parents given explicitly). */
export function layerOf(files: Record<string, string>): Promise<Buffer> {
  return tarOf(Object.entries(files).map(([name, data]) => (name.endsWith('/') ? { name, type: 'directory' } : { name, data })));
}

export function compress(data: Buffer, how: Compression): Buffer {
  if (how === 'gzip') return gzipSync(data);
  if (how === 'zstd') {
    const r = spawnSync('zstd', ['-c', '-q'], { input: data, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString()}`);
    return r.stdout;
  }
  return data;
}

const LAYER_TYPE: Record<Compression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface TestImage {
  /** Uncompressed layer tars, applied in order. */
  layers: Buffer[];
  compression?: Compression;
  /** The image config's "config" object. */
  config?: Record<string, unknown>;
  architecture?: string;
  variant?: string;
  /** Replaces every layer descriptor's media type. */
  layerMediaType?: string;
}

/** Files of a layout: name -> bytes. */
export type Files = Map<string, Buffer>;

function addBlob(files: Files, mediaType: string, data: Buffer, extra: Partial<Descriptor> = {}): Descriptor {
  const d: Descriptor = { mediaType, digest: sha256(data), size: data.length, ...extra };
  files.set(`blobs/sha256/${hexOf(d.digest)}`, data);
  return d;
}

export function imageConfig(img: TestImage): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: img.architecture ?? 'amd64',
      os: 'linux',
      ...(img.variant === undefined ? {} : { variant: img.variant }),
      config: img.config ?? { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: img.layers.map(sha256) },
    }),
  );
}

/** Adds the image's layers, config and manifest to `files`; returns the manifest's descriptor. */
export function addOciImage(files: Files, img: TestImage): Descriptor {
  const how = img.compression ?? 'gzip';
  const layers = img.layers.map((l) => addBlob(files, img.layerMediaType ?? LAYER_TYPE[how], compress(l, how)));
  const config = addBlob(files, 'application/vnd.oci.image.config.v1+json', imageConfig(img));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers }));
  return addBlob(files, 'application/vnd.oci.image.manifest.v1+json', manifest);
}

/** Adds an image index of the given manifests; returns its descriptor. */
export function addIndex(files: Files, manifests: Descriptor[]): Descriptor {
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  return addBlob(files, 'application/vnd.oci.image.index.v1+json', index);
}

/** A layout whose index.json lists `top` (descriptors made with addOciImage/addIndex on the same `files`). */
export function finishLayout(files: Files, top: Descriptor[]): Files {
  files.set('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  files.set('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: top })));
  return files;
}

export function named(d: Descriptor, ref: string): Descriptor {
  return { ...d, annotations: { 'org.opencontainers.image.ref.name': ref } };
}

/** A docker-archive in podman's order: layers "<diff id>.tar" first, config, manifest.json last. */
export function dockerArchive(images: { repoTags: string[]; img: TestImage }[]): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  const manifest = images.map(({ repoTags, img }) => {
    const layers = img.layers.map((l) => {
      const name = `${hexOf(sha256(l))}.tar`;
      if (!entries.some((e) => e.name === name)) entries.push({ name, data: l });
      return name;
    });
    const config = imageConfig(img);
    const configName = `${hexOf(sha256(config))}.json`;
    entries.push({ name: configName, data: config });
    return { Config: configName, RepoTags: repoTags, Layers: layers };
  });
  entries.push({ name: 'manifest.json', data: JSON.stringify(manifest) });
  return entries;
}

/** Old `docker save`: "<id>/layer.tar" per layer, a repeated layer as a symlink to the first copy. */
export function oldDockerArchive(repoTag: string, img: TestImage): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  const seen = new Map<string, string>();
  const layers = img.layers.map((l, i) => {
    const id = hexOf(sha256(Buffer.from(`v1 id ${i}`)));
    entries.push({ name: `${id}/`, type: 'directory' }, { name: `${id}/VERSION`, data: '1.0' });
    const first = seen.get(sha256(l));
    if (first === undefined) {
      entries.push({ name: `${id}/layer.tar`, data: l });
      seen.set(sha256(l), id);
    } else entries.push({ name: `${id}/layer.tar`, type: 'symlink', linkname: `../${first}/layer.tar` });
    return `${id}/layer.tar`;
  });
  const config = imageConfig(img);
  const configName = `${hexOf(sha256(config))}.json`;
  entries.push({ name: configName, data: config });
  entries.push({ name: 'manifest.json', data: JSON.stringify([{ Config: configName, RepoTags: [repoTag], Layers: layers }]) });
  entries.push({ name: 'repositories', data: '{}' });
  return entries;
}

/** Layout files as archive entries, the layout files first (as `skopeo copy oci-archive:` writes them). */
export function entriesOf(files: Files): ArchiveEntry[] {
  return [...files].map(([name, data]) => ({ name, data }));
}

/** Writes entries under `dir` (symlinks as symlinks). */
export function writeEntries(dir: string, entries: ArchiveEntry[]): void {
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.type === 'directory') {
      mkdirSync(path, { recursive: true });
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    if (e.type === 'symlink') symlinkSync(e.linkname ?? '', path);
    else writeFileSync(path, e.data ?? '');
  }
}
