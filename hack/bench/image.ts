// The image benchmark (issue 14): `tsrun bundle --from` beside the tools it
// replaces, on the same ~200 MB four-layer image (hack/bench/image-files.ts),
// in the same run:
//   umoci unpack --image LAYOUT:REF BUNDLE
//     vs tsrun bundle --quiet --from LAYOUT --ref REF BUNDLE
//   tar -xzf rootfs.tar.gz -C DIR
//     vs tsrun bundle --quiet --from rootfs.tar.gz BUNDLE
// Each command runs once untimed (its result checked: files present, whiteouts
// and the opaque directory applied, hard links one inode), then N times,
// the four alternating so drift hits all alike; each target is removed after
// its run. Wall time is taken around the command; peak RSS is GNU time's %M
// (/usr/bin/time, Debian's `time`): ru_maxrss of the command and the
// children it waited for, which is the largest single process of the tree,
// not a sum (tar's gzip child counts apart from tar).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, median, now, progress, tick, TSRUN, work } from './common';
import { makeBenchImage, type BenchImage, type Expectations } from './image-files';

const GNU_TIME = '/usr/bin/time';
/** Issue 14's targets. */
export const WALL_TARGET = 1.5;
export const RSS_TARGET_MIB = 100;

interface Contender {
  name: string;
  /** argv that unpacks into `target` (which does not exist yet). */
  argv(target: string): string[];
  /** The rootfs a run into `target` makes. */
  rootfs(target: string): string;
  /** Made before the command runs (tar needs its directory), not timed. */
  prepare?(target: string): void;
  wallMs: number[];
  rssKiB: number[];
  /** Why it was not measured, when it was not. */
  failure?: string;
}

export interface ImagePair {
  title: string;
  reference: Contender;
  tsrun: Contender;
}

export interface ImageResult {
  image: BenchImage;
  pairs: ImagePair[];
  /** How peak RSS was measured, or why it was not. */
  rssMethod: string;
  runs: number;
}

function contender(name: string, argv: (target: string) => string[], rootfs: (target: string) => string, prepare?: (target: string) => void): Contender {
  return { name, argv, rootfs, prepare, wallMs: [], rssKiB: [] };
}

function pairs(image: BenchImage): ImagePair[] {
  const inBundle = (t: string): string => join(t, 'rootfs');
  return [
    {
      title: `OCI layout, ${image.layers} gzip layers -> bundle`,
      reference: contender('umoci unpack', (t) => ['umoci', 'unpack', '--image', `${image.layout}:${image.ref}`, t], inBundle),
      tsrun: contender('tsrun bundle', (t) => [TSRUN, 'bundle', '--quiet', '--from', image.layout, '--ref', image.ref, t], inBundle),
    },
    {
      title: 'rootfs .tar.gz -> bundle',
      reference: contender('tar -xzf', (t) => ['tar', '-xzf', image.rootfsTarGz, '-C', t], (t) => t, (t) => mkdirSync(t)),
      tsrun: contender('tsrun bundle', (t) => [TSRUN, 'bundle', '--quiet', '--from', image.rootfsTarGz, t], inBundle),
    },
  ];
}

function onPath(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** One run of a command: wall ms and peak RSS KiB (NaN without GNU time); throws with its stderr when it fails. */
function timed(argv: string[], withTime: boolean): { ms: number; rssKiB: number } {
  const errPath = join(work, 'image-cmd.err');
  const timePath = join(work, 'image-cmd.time');
  const err = openSync(errPath, 'w');
  const full = withTime ? [GNU_TIME, '-f', '%M', '-o', timePath, ...argv] : argv;
  let r: ReturnType<typeof spawnSync>;
  let ms: number;
  try {
    const t0 = now();
    r = spawnSync(full[0], full.slice(1), { stdio: ['ignore', 'ignore', err], timeout: 600000 });
    ms = now() - t0;
  } finally {
    closeSync(err);
  }
  if (r.status !== 0) throw new Error(`exited ${r.status ?? r.signal}: ${readFileSync(errPath, 'utf8').trim().split('\n').slice(-3).join(' | ')}`);
  // GNU time writes "Command exited with ..." lines before %M when a command fails; the figure is the last line.
  const rssKiB = withTime ? Number(readFileSync(timePath, 'utf8').trim().split('\n').pop()) : NaN;
  return { ms, rssKiB };
}

/** Why the unpacked `rootfs` is not the image's filesystem, or undefined when it is. */
export function wrongResult(rootfs: string, expect: Expectations): string | undefined {
  const there = (p: string): boolean => {
    try {
      lstatSync(join(rootfs, p));
      return true;
    } catch {
      return false;
    }
  };
  const missing = expect.present.filter((p) => !there(p));
  if (missing.length > 0) return `missing ${missing.join(', ')}`;
  const extra = expect.absent.filter(there);
  if (extra.length > 0) return `should be gone: ${extra.join(', ')}`;
  for (const [a, b] of expect.hardLinks) if (statSync(join(rootfs, a)).ino !== statSync(join(rootfs, b)).ino) return `${a} and ${b} are not one inode`;
  for (const [p, size] of Object.entries(expect.sizes)) if (statSync(join(rootfs, p)).size !== size) return `${p} is not ${size} bytes`;
  return undefined;
}

/** One run of `c` into a fresh target: recorded, or (the warm-up) its result checked. The target is removed after. */
function runOnce(c: Contender, image: BenchImage, target: string, record: boolean, withTime: boolean): void {
  try {
    c.prepare?.(target);
    const r = timed(c.argv(target), withTime);
    if (record) {
      c.wallMs.push(r.ms);
      c.rssKiB.push(r.rssKiB);
      return;
    }
    const wrong = wrongResult(c.rootfs(target), image.expect);
    if (wrong) throw new Error(`wrong rootfs: ${wrong}`);
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}

/** Builds the image, then times every contender `runs` times after one checked warm-up. */
export async function measureImage(runs: number): Promise<ImageResult> {
  const dir = join(work, 'image');
  mkdirSync(dir);
  const t0 = now();
  const image = await makeBenchImage(dir, progress);
  progress(`image: made in ${fmt((now() - t0) / 1000, 0)} s: ${image.files} files, layers ${fmt(image.layerTarBytes / 1e6, 0)} MB uncompressed (${fmt(image.layoutBytes / 1e6, 0)} MB gzip), rootfs.tar.gz ${fmt(image.rootfsTarGzBytes / 1e6, 0)} MB`);
  const withTime = existsSync(GNU_TIME);
  const all = pairs(image);
  if (!onPath('umoci')) all[0].reference.failure = 'umoci is not installed (Debian package umoci: hack/install.sh)';
  if (!existsSync(TSRUN)) for (const p of all) p.tsrun.failure = `no ${TSRUN}: run npm run build`;
  const contenders = all.flatMap((p) => [p.reference, p.tsrun]);
  let serial = 0;
  for (let i = 0; i <= runs; i++) {
    progress(i === 0 ? 'image: one checked warm-up run of each command' : `image: run ${i}/${runs}`);
    for (const c of contenders) {
      if (c.failure) continue;
      await tick();
      const target = join(work, `image-${c.name.replace(/\W+/g, '-')}-${serial++}`);
      try {
        runOnce(c, image, target, i > 0, withTime);
      } catch (err) {
        c.failure = `${c.name}: ${(err as Error).message}`;
        progress(`image: ${c.failure} (${c.argv(target).join(' ')})`);
      }
    }
  }
  const rssMethod = withTime ? 'GNU time %M: the largest process of the command, as ru_maxrss' : `not measured: no ${GNU_TIME} (Debian package time: hack/install.sh)`;
  return { image, pairs: all, rssMethod, runs };
}

// ---------------------------------------------------------------- tables

/** Median of KiB figures, in MiB. */
const mib = (values: number[]): number => median(values) / 1024;

function verdict(ok: boolean): string {
  return ok ? 'met' : 'missed';
}

/** One row per contender: medians and spread of wall and peak RSS. */
export function imageDetailRows(res: ImageResult): string[][] {
  const rows = [['unpack', 'command', 'wall p50 (ms)', 'wall min', 'wall max', 'peak RSS p50 (MiB)', 'runs']];
  for (const p of res.pairs) {
    for (const c of [p.reference, p.tsrun]) {
      if (c.failure) rows.push([p.title, c.name, 'n/a', 'n/a', 'n/a', 'n/a', '0']);
      else rows.push([p.title, c.name, fmt(median(c.wallMs)), fmt(Math.min(...c.wallMs)), fmt(Math.max(...c.wallMs)), fmt(mib(c.rssKiB)), String(c.wallMs.length)]);
    }
  }
  return rows;
}

/** Why a command was not measured, one line each, for under the detail table. */
export function imageFailures(res: ImageResult): string {
  const lines = res.pairs.flatMap((p) => [p.reference, p.tsrun].filter((c) => c.failure).map((c) => `${p.title}: not measured: ${c.failure}\n`));
  return lines.join('');
}

/** The targets: tsrun's wall within 1.5x of the tool it replaces, its peak RSS under 100 MiB. */
export function imageTargetRows(res: ImageResult): string[][] {
  const rows = [['measure', 'tsrun', 'reference', 'ratio', 'target', 'verdict']];
  for (const p of res.pairs) {
    const t = p.tsrun;
    const r = p.reference;
    if (t.failure || r.failure) {
      rows.push([`${p.title}, wall (ms)`, t.failure ? 'n/a' : fmt(median(t.wallMs)), r.failure ? 'n/a' : `${fmt(median(r.wallMs))} (${r.name})`, '-', `<= ${WALL_TARGET}x ${r.name}`, `not measured (${t.failure ? t.name : r.name}: see above)`]);
    } else {
      const ratio = median(t.wallMs) / median(r.wallMs);
      rows.push([`${p.title}, wall (ms)`, fmt(median(t.wallMs)), `${fmt(median(r.wallMs))} (${r.name})`, `${fmt(ratio, 2)}x`, `<= ${WALL_TARGET}x ${r.name}`, verdict(ratio <= WALL_TARGET)]);
    }
    const rss = mib(t.rssKiB);
    const rssVerdict = t.failure ? 'not measured' : Number.isFinite(rss) ? verdict(rss < RSS_TARGET_MIB) : 'not measured (no GNU time)';
    rows.push([`${p.title}, peak RSS (MiB)`, t.failure ? 'n/a' : fmt(rss), r.failure ? 'n/a' : `${fmt(mib(r.rssKiB))} (${r.name})`, '-', `< ${RSS_TARGET_MIB} MiB`, rssVerdict]);
  }
  return rows;
}

/** One line on what was unpacked. */
export function imageDescription(res: ImageResult): string {
  const i = res.image;
  return `image: ${i.layers} gzip layers, ${fmt(i.layerTarBytes / 1e6, 0)} MB of layer tars (${fmt(i.layoutBytes / 1e6, 0)} MB gzip), ${i.files} files after whiteouts; rootfs.tar.gz ${fmt(i.rootfsTarGzBytes / 1e6, 0)} MB; ${res.runs} runs each after a checked warm-up; peak RSS: ${res.rssMethod}`;
}
