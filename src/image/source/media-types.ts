// The media types tsrun accepts (image-spec media-types.md and docker's
// schema 2), and what each says about a layer's compression.

export type Compression = 'none' | 'gzip' | 'zstd';

export const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
export const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];
export const CONFIG_TYPES = ['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json'];

const LAYER_TYPES: Record<string, Compression> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  // Deprecated by image-spec 1.1 but still found in older layouts.
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
};

/** The media type a plain rootfs tarball is given, by the compression its bytes show. */
export const ROOTFS_TYPES: Record<Compression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

/**
 * The compression of a layer of `mediaType`; "sniff" for "" (a source that
 * names no type: look at the bytes); null for a type tsrun does not know.
 */
export function layerCompression(mediaType: string): Compression | 'sniff' | null {
  if (mediaType === '') return 'sniff';
  return LAYER_TYPES[mediaType] ?? null;
}
