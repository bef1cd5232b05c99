// What an image source hands to the unpacker: the image's config and its
// layers in the order they are applied. Shared by image/source (which reads
// archives and layouts) and image/layer (which writes a rootfs).
import type { Readable } from 'node:stream';

/** The parts of an OCI image config (image-spec config.md) tsrun reads. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  author?: string;
  created?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, unknown>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, unknown>;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
  };
  rootfs?: { type: string; diff_ids: string[] };
}

/** One layer, as stored in the source. */
export interface LayerBlob {
  /** Digest of the stored (maybe compressed) bytes, "sha256:<hex>"; null for a plain rootfs tarball. */
  digest: string | null;
  /** Digest of the uncompressed tar (the config's rootfs.diff_ids entry), when known. */
  diffId: string | null;
  /** Size of the stored bytes, when known (for the progress bar). */
  size: number | null;
  /** The descriptor's media type (docker's or OCI's), or "" when the source names none. */
  mediaType: string;
  /** A new stream of the stored bytes (compressed as the media type says). */
  open(): Readable;
}

/** An image (or a plain rootfs tarball) ready to unpack. */
export interface ImageSource {
  /** For messages: "docker-archive busybox.tar", "oci layout ./img (ref latest)". */
  description: string;
  /** The image config; null for a plain rootfs tarball. */
  config: ImageConfig | null;
  layers: LayerBlob[];
  /** Removes what the source made (a spooled copy of an archive read from a pipe). Idempotent. */
  close(): void;
}

/** How an owner in a layer becomes an owner on the host. */
export interface OwnerMapping {
  /** Host ids for the archive's ids; null: leave the file to the caller (no chown). */
  map(uid: number, gid: number): { uid: number; gid: number } | null;
}
