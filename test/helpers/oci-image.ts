// Builds an OCI image layout tarball (oci-layout, index.json, blobs/sha256/*)
// from a root filesystem directory, without network or external tools: one
// gzip layer made with tar-stream, an image config and a manifest. The
// result is what `ctr images import` (and `podman load`) read.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';

type HeaderArgument = Partial<Header> & Pick<Header, 'name'>;

export interface ImageOptions {
  /** Reference stored in the index annotation, e.g. docker.io/library/tsrun-busybox:test. */
  ref: string;
  /** Default command of the image config (Cmd). */
  cmd?: string[];
  env?: string[];
  architecture?: string;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** GOARCH spelling of this machine's architecture. */
export function goArch(): string {
  const arch = process.arch;
  return arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch;
}

/** Tar entries for everything under `dir`, paths relative to it, parents before children. */
function* walk(dir: string, rel = ''): Generator<{ header: HeaderArgument; data?: Buffer }> {
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const full = join(dir, path);
    const st = lstatSync(full);
    const base = { name: path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isDirectory()) {
      yield { header: { ...base, type: 'directory' } };
      yield* walk(dir, path);
    } else if (st.isSymbolicLink()) {
      yield { header: { ...base, type: 'symlink', linkname: readlinkSync(full) } };
    } else if (st.isFile()) {
      const data = readFileSync(full);
      yield { header: { ...base, type: 'file', size: data.length }, data };
    }
    // device nodes, fifos and sockets are left out: the runtime makes /dev
  }
}

/** Everything a tar-stream pack emits, as one Buffer once it ends. */
function collect(p: ReturnType<typeof pack>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise<Buffer>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve(Buffer.concat(chunks)));
    p.on('error', reject);
  });
}

/** The uncompressed tar of `dir` (the layer's diff, whose digest is the config's diff_id). */
export async function tarDirectory(dir: string): Promise<Buffer> {
  const p = pack();
  const done = collect(p);
  for (const { header, data } of walk(dir)) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (data) p.entry(header, data, cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  return done;
}

/** A tar archive (in memory) of the given files, for the layout itself. */
async function tarFiles(files: { name: string; data: Buffer }[]): Promise<Buffer> {
  const p = pack();
  const done = collect(p);
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.name.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (dirs.has(d)) continue;
      dirs.add(d);
      p.entry({ name: d, type: 'directory', mode: 0o755 });
    }
    p.entry({ name: f.name, type: 'file', mode: 0o644, size: f.data.length }, f.data);
  }
  p.finalize();
  return done;
}

/**
 * An OCI image layout tarball of `rootfs` (one layer), written to `out`.
 * Returns the manifest digest.
 */
export async function writeOciImageTar(rootfs: string, out: string, options: ImageOptions): Promise<string> {
  const diff = await tarDirectory(rootfs);
  const layer = gzipSync(diff);
  const config = Buffer.from(
    JSON.stringify({
      created: new Date(0).toISOString(),
      architecture: options.architecture ?? goArch(),
      os: 'linux',
      config: {
        Env: options.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: options.cmd ?? ['sh'],
        WorkingDir: '/',
      },
      rootfs: { type: 'layers', diff_ids: [sha256(diff)] },
      history: [{ created: new Date(0).toISOString(), created_by: 'tsrun test/helpers/oci-image.ts' }],
    }),
  );
  const layerDesc: Descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length };
  const configDesc: Descriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length };
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers: [layerDesc] }),
  );
  const manifestDesc: Descriptor = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: sha256(manifest),
    size: manifest.length,
    annotations: { 'org.opencontainers.image.ref.name': options.ref, 'io.containerd.image.name': options.ref },
  };
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [manifestDesc] }));
  const blob = (d: Descriptor): string => `blobs/sha256/${d.digest.slice('sha256:'.length)}`;
  const tarball = await tarFiles([
    { name: 'oci-layout', data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { name: 'index.json', data: index },
    { name: blob(configDesc), data: config },
    { name: blob(layerDesc), data: layer },
    { name: blob(manifestDesc), data: manifest },
  ]);
  writeFileSync(out, tarball);
  return manifestDesc.digest;
}
