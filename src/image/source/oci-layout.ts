// Finding one image in an OCI image layout (image-layout.md): its
// index.json, the ref the user asked for, nested indexes followed down to
// the manifest for this machine's platform, then its config and layers.
import { UserError } from '../../errors';
import type { ImageConfig, LayerBlob } from '../types';
import type { ArchiveFiles } from './archive-files';
import { blobPath, parseDigest, shortDigest } from './digest';
import { isObject, parseImageConfig, parseJson, readVerified } from './documents';
import { CONFIG_TYPES, INDEX_TYPES, layerCompression, MANIFEST_TYPES } from './media-types';
import { formatPlatform, hostPlatform, platformScore, type Platform } from './platform';
import { imagesNamed } from './refs';

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

/** Nested indexes followed at most this deep (a loop of indexes cannot be built, but a deep chain can). */
const MAX_DEPTH = 8;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Partial<Platform>;
}

/** The image a source resolved to. */
export interface ChosenImage {
  config: ImageConfig;
  layers: LayerBlob[];
  /** The name it was found by (for the description), when it has one. */
  name: string | null;
}

function descriptor(v: unknown, what: string, where: string): Descriptor {
  const ok = isObject(v) && typeof v.mediaType === 'string' && parseDigest(v.digest) !== null && Number.isSafeInteger(v.size) && (v.size as number) >= 0;
  if (!ok) throw new UserError(`${where}: ${what} is not a valid descriptor (mediaType, digest, size)`);
  return v as unknown as Descriptor;
}

function descriptors(doc: unknown, key: 'manifests' | 'layers', what: string, where: string): Descriptor[] {
  const list = isObject(doc) ? doc[key] : undefined;
  if (!Array.isArray(list)) throw new UserError(`${where}: ${what} has no "${key}" list`);
  return list.map((d, i) => descriptor(d, `${what} ${key}[${i}]`, where));
}

/** A JSON blob a descriptor points at, its digest and size checked. */
function readBlob(files: ArchiveFiles, d: Descriptor, what: string, where: string): unknown {
  const digest = parseDigest(d.digest);
  if (digest === null) throw new UserError(`${where}: ${what}: bad digest ${JSON.stringify(d.digest)}`);
  return parseJson(readVerified(files, blobPath(digest), d.digest, d.size, `${what} ${d.digest}`, where), what, where);
}

function namesOf(d: Descriptor): string[] {
  return [d.annotations?.[REF_NAME], d.annotations?.[CONTAINERD_NAME]].filter((n): n is string => typeof n === 'string' && n !== '');
}

/** The index entries that are the image asked for (all of them when the index holds one image). */
function entriesForRef(top: Descriptor[], ref: string | undefined, where: string): Descriptor[] {
  const names = [...new Set(top.map((d) => namesOf(d)[0]).filter((n) => n !== undefined))];
  if (ref !== undefined) {
    const chosen = imagesNamed(top, namesOf, ref);
    if (chosen.length === 0) throw new UserError(`${where}: no image named ${JSON.stringify(ref)} (refs there: ${names.join(', ') || 'none'})`);
    return chosen;
  }
  if (names.length > 1) throw new UserError(`${where} holds several images (${names.join(', ')}): choose one with --ref`);
  return top;
}

/** Manifest descriptors under `entries`, nested indexes opened (each one's digest checked). */
function manifestsUnder(files: ArchiveFiles, entries: Descriptor[], where: string, depth = 0): Descriptor[] {
  if (depth > MAX_DEPTH) throw new UserError(`${where}: image indexes nested more than ${MAX_DEPTH} deep`);
  const found: Descriptor[] = [];
  for (const d of entries) {
    if (INDEX_TYPES.includes(d.mediaType)) {
      const index = readBlob(files, d, `image index ${shortDigest(d.digest)}`, where);
      found.push(...manifestsUnder(files, descriptors(index, 'manifests', `image index ${shortDigest(d.digest)}`, where), where, depth + 1));
    } else found.push(d);
  }
  return found;
}

/** The manifest for this machine: the only one, or the best platform match. */
function manifestForHost(manifests: Descriptor[], where: string): Descriptor {
  const images = manifests.filter((d) => MANIFEST_TYPES.includes(d.mediaType));
  if (images.length === 0) {
    const types = [...new Set(manifests.map((d) => d.mediaType))].join(', ');
    throw new UserError(`${where}: no image manifest, only ${types || 'nothing'} (media types tsrun does not unpack)`);
  }
  if (images.length === 1 && images[0].platform === undefined) return images[0];
  const host = hostPlatform();
  // A manifest that names no platform is taken to fit, below any that names this one.
  const scored = images.map((d) => ({ d, score: d.platform === undefined ? 0 : platformScore(d.platform, host) }));
  const best = scored.filter((s) => s.score >= 0).sort((a, b) => b.score - a.score)[0];
  if (best === undefined) {
    const offered = images.map((d) => formatPlatform(d.platform ?? {})).join(', ');
    throw new UserError(`${where}: no manifest for ${formatPlatform(host)} (platforms there: ${offered})`);
  }
  return best.d;
}

/** Reads the oci-layout file and refuses layout versions other than 1.x. */
function checkLayoutVersion(files: ArchiveFiles, where: string): void {
  if (files.size('oci-layout') === null) throw new UserError(`${where}: no oci-layout file: not an OCI image layout`);
  const doc = parseJson(files.read('oci-layout'), 'oci-layout', where);
  const version = isObject(doc) ? doc.imageLayoutVersion : undefined;
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    throw new UserError(`${where}: oci-layout has imageLayoutVersion ${JSON.stringify(version)}; tsrun reads 1.x layouts`);
  }
}

/** The image `ref` names in the layout (the only one when no ref is given). */
export function readOciImage(files: ArchiveFiles, where: string, ref: string | undefined): ChosenImage {
  checkLayoutVersion(files, where);
  if (files.size('index.json') === null) throw new UserError(`${where}: no index.json: not an OCI image layout`);
  const top = descriptors(parseJson(files.read('index.json'), 'index.json', where), 'manifests', 'index.json', where);
  const entries = entriesForRef(top, ref, where);
  const chosen = manifestForHost(manifestsUnder(files, entries, where), where);
  const name = namesOf(entries.length === 1 ? entries[0] : chosen)[0] ?? null;
  return { ...imageOfManifest(files, chosen, where), name };
}

function imageOfManifest(files: ArchiveFiles, d: Descriptor, where: string): { config: ImageConfig; layers: LayerBlob[] } {
  const what = `manifest ${shortDigest(d.digest)}`;
  const manifest = readBlob(files, d, what, where);
  if (!isObject(manifest)) throw new UserError(`${where}: ${what} is not a JSON object`);
  if (manifest.mediaType !== undefined && manifest.mediaType !== d.mediaType) {
    throw new UserError(`${where}: ${what} says it is ${JSON.stringify(manifest.mediaType)}, its descriptor ${d.mediaType}`);
  }
  const configDesc = descriptor(manifest.config, `${what} config`, where);
  if (!CONFIG_TYPES.includes(configDesc.mediaType)) {
    throw new UserError(`${where}: ${what} has a config of media type ${configDesc.mediaType}: not a container image`);
  }
  const configData = readVerified(files, blobPath(parseDigest(configDesc.digest)!), configDesc.digest, configDesc.size, `config ${configDesc.digest}`, where);
  const config = parseImageConfig(configData, configDesc.digest, where);
  const layerDescs = descriptors(manifest, 'layers', what, where);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== layerDescs.length) {
    throw new UserError(`${where}: ${what} has ${layerDescs.length} layers, its config ${diffIds.length} diff_ids`);
  }
  const layers = layerDescs.map((l, i) => layerBlob(files, l, diffIds[i], `layer ${i + 1} of ${layerDescs.length}`, where));
  return { config, layers };
}

function layerBlob(files: ArchiveFiles, d: Descriptor, diffId: string, which: string, where: string): LayerBlob {
  if (layerCompression(d.mediaType) === null || d.mediaType === '') {
    throw new UserError(`${where}: ${which} (${shortDigest(d.digest)}) has media type ${JSON.stringify(d.mediaType)}, which tsrun cannot unpack`);
  }
  const path = blobPath(parseDigest(d.digest)!);
  const size = files.size(path);
  if (size === null) throw new UserError(`blob ${d.digest} (${which}) is not in ${where}`);
  if (size !== d.size) throw new UserError(`${where}: blob ${d.digest} (${which}) is ${size} bytes, its descriptor says ${d.size}`);
  return { digest: d.digest, diffId, size, mediaType: d.mediaType, open: () => files.open(path) };
}
