// Finding one image in a docker-archive (`docker save`, `podman save`):
// manifest.json lists each image's config file, tags and layer files. The
// config's file name is its sha256; each layer is checked against the
// config's diff_ids as it is read.
import { UserError } from '../../errors';
import type { LayerBlob } from '../types';
import type { ArchiveFiles } from './archive-files';
import { shortDigest } from './digest';
import { isObject, parseImageConfig, parseJson, readVerified } from './documents';
import { memberName } from './member-names';
import type { ChosenImage } from './oci-layout';
import { imagesNamed } from './refs';

interface ManifestItem {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

function manifestItems(files: ArchiveFiles, where: string): ManifestItem[] {
  if (files.size('manifest.json') === null) throw new UserError(`${where}: no manifest.json: not a docker-archive`);
  const doc = parseJson(files.read('manifest.json'), 'manifest.json', where);
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
  // An object here is a registry manifest (skopeo's dir: format), not docker-archive's list.
  if (!Array.isArray(doc)) throw new UserError(`${where}: manifest.json is not a docker-archive's list of images`);
  if (doc.length === 0) throw new UserError(`${where}: manifest.json lists no image`);
  return doc.map((item, i) => {
    const ok = isObject(item) && typeof item.Config === 'string' && strings(item.Layers) && (item.RepoTags == null || strings(item.RepoTags));
    if (!ok) throw new UserError(`${where}: manifest.json entry ${i} lacks Config or Layers`);
    return { Config: item.Config as string, RepoTags: (item.RepoTags as string[] | null) ?? [], Layers: item.Layers as string[] };
  });
}

/** How an image is listed in messages: its tags, or its config's file name when untagged. */
function label(item: ManifestItem): string {
  return item.RepoTags.length > 0 ? item.RepoTags.join(' ') : item.Config;
}

function chooseItem(items: ManifestItem[], ref: string | undefined, where: string): ManifestItem {
  const all = items.map(label).join(', ');
  if (ref === undefined) {
    if (items.length === 1) return items[0];
    throw new UserError(`${where} holds several images (${all}): choose one with --ref`);
  }
  const chosen = imagesNamed(items, (i) => i.RepoTags, ref);
  if (chosen.length === 1) return chosen[0];
  if (chosen.length === 0) throw new UserError(`${where}: no image named ${JSON.stringify(ref)} (refs there: ${all})`);
  throw new UserError(`${where}: ${JSON.stringify(ref)} names several images (${chosen.map(label).join(', ')}): give the full name`);
}

/** A member name from manifest.json, refused when it could name something outside the archive. */
function fileName(name: string, what: string, where: string): string {
  try {
    const n = memberName(name);
    if (n !== null) return n;
  } catch {
    // reported below
  }
  throw new UserError(`${where}: manifest.json names ${what} ${JSON.stringify(name)}, not a file in the archive`);
}

/** The sha256 a docker-archive file's name carries ("<hex>.json", "blobs/sha256/<hex>"), or null. */
function digestInName(name: string): string | null {
  const m = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(name);
  return m === null ? null : `sha256:${m[1]}`;
}

export function readDockerImage(files: ArchiveFiles, where: string, ref: string | undefined): ChosenImage {
  const item = chooseItem(manifestItems(files, where), ref, where);
  const configName = fileName(item.Config, 'config', where);
  const configDigest = digestInName(configName);
  if (configDigest === null) throw new UserError(`${where}: config ${configName}: its name is not its sha256, so it cannot be verified`);
  const config = parseImageConfig(readVerified(files, configName, configDigest, null, `config ${configName}`, where), configDigest, where);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== item.Layers.length) {
    throw new UserError(`${where}: manifest.json lists ${item.Layers.length} layers, config ${shortDigest(configDigest)} ${diffIds.length} diff_ids`);
  }
  const layers = item.Layers.map((l, i): LayerBlob => {
    const which = `layer ${i + 1} of ${item.Layers.length}`;
    const name = fileName(l, which, where);
    const size = files.size(name);
    if (size === null) throw new UserError(`layer file ${name} (${which}) is not in ${where}`);
    // Only a layout blob's name is the digest of its stored bytes; "<id>/layer.tar"
    // carries a v1 id. The diff_id is checked either way.
    const digest = /^blobs\/sha256\/[a-f0-9]{64}$/.test(name) ? digestInName(name) : null;
    // The bytes say how the layer is compressed (docker writes them plain; a
    // LayerSources entry describes the registry's copy, not this file).
    return { digest, diffId: diffIds[i], size, mediaType: '', open: () => files.open(name) };
  });
  return { config, layers, name: ref ?? item.RepoTags[0] ?? null };
}
