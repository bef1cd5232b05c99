// `tsrun bundle --from SOURCE DIR`: an image (or a rootfs tarball) becomes
// DIR/rootfs and DIR/config.json. Everything is written into a staging
// directory inside DIR (same filesystem: the final renames are atomic) and
// moved into place only when every layer was written and verified; any
// failure, or discard() from a signal handler, removes the staging
// directory, and DIR itself when this run made it, so a failed or
// interrupted run leaves nothing half-written.
import { lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, rmdirSync, writeFileSync, lchownSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { UserError } from '../errors';
import type { Spec } from '../spec/types';
import { RootfsWriter, type WriterReport } from './layer';
import { openImageSource, openLayerTar } from './source';
import { runtimeConfigFromImage } from './runtime-config';
import { resolveInRoot } from './root-path';
import type { RootlessIds } from './rootless-ids';
import type { ImageConfig, ImageSource, OwnerMapping } from './types';

export interface LayerProgress {
  /** 1-based. */
  index: number;
  count: number;
  /** The layer's digest, or its diff_id where the source names no digest (a docker-archive's layers). */
  digest: string | null;
  /** Stored (maybe compressed) bytes read so far. */
  stored: number;
  size: number | null;
  done: boolean;
}

export interface UnpackOptions {
  from: string;
  ref?: string;
  rootless: boolean;
  owners: OwnerMapping;
  /** The mappings a rootless config gets (default: those of `tsrun spec --rootless`). */
  ids?: RootlessIds;
  stdin?: Readable;
  /** Applied to the config.json made from the image (the network hooks of --network). */
  amendConfig?: (spec: Spec) => void;
  onProgress?: (progress: LayerProgress) => void;
}

export interface UnpackResult {
  layers: number;
  /** What was not made as the image asked, one line each (device nodes an unprivileged caller cannot make, ...). */
  notes: string[];
}

export class BundleUnpack {
  private staging: string | null = null;
  private madeDir = false;

  constructor(
    readonly dir: string,
    readonly options: UnpackOptions,
  ) {}

  async run(): Promise<UnpackResult> {
    this.prepare();
    try {
      return await this.unpack(this.staging as string);
    } catch (err) {
      this.discard();
      throw err;
    }
  }

  /** Removes what this run wrote; synchronous, so a signal handler can call it. */
  discard(): void {
    if (this.staging !== null) rmSync(this.staging, { recursive: true, force: true });
    this.staging = null;
    if (this.madeDir) {
      try {
        rmdirSync(this.dir);
      } catch {
        // something else was put there meanwhile: not ours to remove
      }
      this.madeDir = false;
    }
  }

  private prepare(): void {
    const st = lstatSync(this.dir, { throwIfNoEntry: false });
    if (st === undefined) {
      try {
        mkdirSync(this.dir, 0o755);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new UserError(code === 'ENOENT' ? `bundle directory ${this.dir}: its parent ${dirname(this.dir)} does not exist` : `mkdir ${this.dir}: ${code}`);
      }
      this.madeDir = true;
    } else if (!st.isDirectory()) {
      throw new UserError(`bundle directory ${this.dir} exists and is not a directory`);
    }
    for (const name of ['rootfs', 'config.json']) {
      if (lstatSync(join(this.dir, name), { throwIfNoEntry: false }) !== undefined) {
        this.discard();
        throw new UserError(`${join(this.dir, name)} exists: remove it first, or name another directory`);
      }
    }
    this.staging = mkdtempSync(join(this.dir, '.tsrun-bundle-'));
    mkdirSync(join(this.staging, 'rootfs'), 0o755);
    mkdirSync(join(this.staging, 'tmp'), 0o700);
    const root = this.options.owners.map(0, 0);
    if (root !== null) lchownSync(join(this.staging, 'rootfs'), root.uid, root.gid);
  }

  private async unpack(staging: string): Promise<UnpackResult> {
    const rootfs = join(staging, 'rootfs');
    const source = await openImageSource(this.options.from, { ref: this.options.ref, tmpDir: join(staging, 'tmp'), stdin: this.options.stdin });
    let report: WriterReport;
    try {
      report = await this.writeLayers(source, rootfs);
    } finally {
      source.close();
    }
    this.makeVolumeDirs(source.config, rootfs);
    const spec = runtimeConfigFromImage(source.config, rootfs, {
      rootless: this.options.rootless,
      uidMappings: this.options.ids?.uidMappings,
      gidMappings: this.options.ids?.gidMappings,
    });
    this.options.amendConfig?.(spec);
    this.moveIntoPlace(staging, spec);
    return { layers: source.layers.length, notes: notesOf(report) };
  }

  private async writeLayers(source: ImageSource, rootfs: string): Promise<WriterReport> {
    const writer = new RootfsWriter(rootfs, { owners: this.options.owners });
    const count = source.layers.length;
    for (const [i, layer] of source.layers.entries()) {
      const progress: LayerProgress = { index: i + 1, count, digest: layer.digest ?? layer.diffId, stored: 0, size: layer.size, done: false };
      const tar = openLayerTar(layer, (n) => {
        progress.stored += n;
        this.options.onProgress?.(progress);
      });
      const name = `layer ${i + 1} of ${count}${layer.digest === null ? '' : ` (${layer.digest.slice(0, 19)})`}`;
      await writer.applyLayer(tar, name);
      this.options.onProgress?.({ ...progress, done: true });
    }
    return writer.finish();
  }

  /**
   * The image's volumes are directories of the writable rootfs, which lives
   * with the bundle and outlasts its containers as a volume would; they are
   * made when no layer made them, so a process can use them at once.
   */
  private makeVolumeDirs(config: ImageConfig | null, rootfs: string): void {
    const root = this.options.owners.map(0, 0);
    for (const volume of Object.keys(config?.config?.Volumes ?? {})) {
      const path = resolveInRoot(rootfs, volume);
      if (lstatSync(path, { throwIfNoEntry: false }) !== undefined) continue;
      mkdirSync(path, { recursive: true, mode: 0o755 });
      if (root !== null) lchownSync(path, root.uid, root.gid);
    }
  }

  private moveIntoPlace(staging: string, spec: Spec): void {
    writeFileSync(join(staging, 'config.json'), JSON.stringify(spec, null, '\t') + '\n', { mode: 0o644 });
    renameSync(join(staging, 'rootfs'), join(this.dir, 'rootfs'));
    try {
      renameSync(join(staging, 'config.json'), join(this.dir, 'config.json'));
    } catch (err) {
      rmSync(join(this.dir, 'rootfs'), { recursive: true, force: true });
      throw err;
    }
    rmSync(staging, { recursive: true, force: true });
    this.staging = null;
    this.madeDir = false;
  }
}

function notesOf(report: WriterReport): string[] {
  const notes: string[] = [];
  const list = (items: string[]): string => items.slice(0, 5).join(', ') + (items.length > 5 ? `, and ${items.length - 5} more` : '');
  if (report.devicesSkipped.length > 0) {
    notes.push(`${report.devicesSkipped.length} device node(s) not made (this user may not make device nodes): ${list(report.devicesSkipped)}`);
  }
  if (report.xattrsSkipped.length > 0) {
    notes.push(`${report.xattrsSkipped.length} extended attribute(s) not set (refused by the filesystem or the kernel): ${list(report.xattrsSkipped)}`);
  }
  return notes;
}
