// config.json for a bundle unpacked from an image: `tsrun spec`'s default,
// with the image config's command, environment, working directory, user
// and annotations put in as the image-spec's conversion.md says.
import { posix } from 'node:path';
import { defaultSpec } from '../spec/default-spec';
import type { LinuxIDMapping, Spec } from '../spec/types';
import { resolveImageUser } from './image-user';
import type { ImageConfig } from './types';

export interface RuntimeConfigOptions {
  rootless: boolean;
  /** Replace defaultSpec's mappings (the caller's id to root) with these, e.g. a range from /etc/subuid. */
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Given mappings replace the default ones; a user namespace comes with them (a rootful bundle has none). */
function applyMappings(spec: Spec, options: RuntimeConfigOptions): void {
  if (options.uidMappings === undefined && options.gidMappings === undefined) return;
  const linux = (spec.linux ??= {});
  if (options.uidMappings !== undefined) linux.uidMappings = options.uidMappings.map((m) => ({ ...m }));
  if (options.gidMappings !== undefined) linux.gidMappings = options.gidMappings.map((m) => ({ ...m }));
  linux.namespaces ??= [];
  if (!linux.namespaces.some((ns) => ns.type === 'user')) linux.namespaces.push({ type: 'user' });
}

/** The image-spec annotations (conversion.md "Annotation Fields"), Labels winning over the implicit ones. */
export function imageAnnotations(image: ImageConfig): Record<string, string> {
  const implicit: Record<string, string | undefined> = {
    'org.opencontainers.image.os': image.os,
    'org.opencontainers.image.architecture': image.architecture,
    'org.opencontainers.image.variant': image.variant,
    'org.opencontainers.image.os.version': image['os.version'],
    'org.opencontainers.image.os.features': image['os.features']?.join(','),
    'org.opencontainers.image.author': image.author,
    'org.opencontainers.image.created': image.created,
    'org.opencontainers.image.stopSignal': image.config?.StopSignal,
    'org.opencontainers.image.exposedPorts': image.config?.ExposedPorts ? Object.keys(image.config.ExposedPorts).join(',') : undefined,
  };
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(implicit)) {
    if (typeof value === 'string' && value !== '') annotations[key] = value;
  }
  // The runtime-spec forbids an empty annotation key: such a label cannot be carried.
  for (const [key, value] of Object.entries(image.config?.Labels ?? {})) {
    if (key !== '' && typeof value === 'string') annotations[key] = value;
  }
  return annotations;
}

/** Entrypoint followed by Cmd; null when the image gives neither. */
function imageArgs(config: NonNullable<ImageConfig['config']>): string[] | null {
  const args = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  return args.length > 0 ? args : null;
}

/** The image's Env as it is, with a PATH put first when the image sets none (conversion.md allows additions, not changes). */
function imageEnv(env: string[] | undefined): string[] {
  const list = env ?? [];
  return list.some((e) => e.startsWith('PATH=')) ? [...list] : [DEFAULT_PATH, ...list];
}

/**
 * The config.json for a bundle whose root filesystem `rootfs` (a host
 * path, read for /etc/passwd and /etc/group) was unpacked from an image
 * with config `image`; null for a plain rootfs tarball, which gets
 * `tsrun spec`'s config unchanged.
 */
export function runtimeConfigFromImage(image: ImageConfig | null, rootfs: string, options: RuntimeConfigOptions): Spec {
  const spec = defaultSpec({ rootless: options.rootless });
  applyMappings(spec, options);
  if (image === null) return spec;
  const config = image.config ?? {};
  const proc = spec.process!;
  // As `podman run` without -t: the image's command gets the caller's stdio.
  proc.terminal = false;
  proc.env = imageEnv(config.Env);
  // An image with neither Entrypoint nor Cmd cannot say what to run; the
  // default "sh" stays, as `tsrun spec` writes it, for the user to change.
  proc.args = imageArgs(config) ?? proc.args;
  // The runtime-spec wants an absolute cwd; docker reads a relative WorkingDir from "/".
  proc.cwd = config.WorkingDir ? posix.resolve('/', config.WorkingDir) : '/';
  if (config.User) proc.user = resolveImageUser(config.User, rootfs);
  // Image processes expect to write to their root filesystem, as under podman.
  spec.root = { path: 'rootfs', readonly: false };
  const annotations = imageAnnotations(image);
  if (Object.keys(annotations).length > 0) spec.annotations = annotations;
  return spec;
}
