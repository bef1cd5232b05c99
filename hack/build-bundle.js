#!/usr/bin/env node
// Build step (after tsc and compile-schema): what the launcher runs
// (paths and flags in hack/entries.js).
//
//   dist/tsrun.js          the CLI bundled into one file by esbuild (koffi's
//                          native module stays outside: it is a .node file)
//   dist/read.js           `state` and `list` alone (src/cli/main-read.ts):
//                          small enough that compiling it costs less than
//                          deserialising a snapshot
//   dist/lifecycle.js      `start`, `delete` and `kill` alone
//                          (src/cli/main-lifecycle.ts): a quarter of the
//                          full bundle for the verbs called for every container
//   dist/*.cache,          V8 code caches of those bundles, made by running
//   dist/*.create-cache    the verbs that use them (hack/build-code-cache.js),
//                          started by src/cli/cached-start.ts: for state and
//                          list; for start, delete and kill; for create (with
//                          its own flags, from the full bundle)
//   dist/snapshot/         V8 startup snapshots of the bundle for the node
//                          binary running this script: `read.blob` (the
//                          command line and what state and list run) and
//                          `full.blob` (every verb's modules; a bigger heap,
//                          slower to load for a verb that only reads), and
//                          `node.ref`, a hard link to that binary: the launcher
//                          uses a snapshot only while its node is that file.
//
// Why: most of a tsrun call was Node reading and compiling ~100 modules;
// one file saves the lookups and reads, and the snapshot or the code cache
// the compilation (README, "Start-up": which verb runs from which was
// measured). Node refuses a snapshot made by another binary or with other
// V8 flags (exit 14), so it is built with the launcher's own flags,
// smoke-tested here, and left out (the bundle alone is used) when anything
// about it fails; V8 ignores a code cache that does not fit, and one it
// refuses here is not kept. `--no-snapshot` skips the snapshots (the
// bundles and code caches are still made).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const E = require('./entries');

/** `iife` for the snapshot entry: the snapshot builder runs it with no `exports`. */
function bundle(entry, outfile, format = 'cjs') {
  require('esbuild').buildSync({
    entryPoints: [path.join(E.dist, 'src', 'cli', entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format,
    target: `node${process.versions.node.split('.')[0]}`,
    external: ['koffi'],
    logLevel: 'error',
    legalComments: 'none',
    minify: true,
    keepNames: true,
  });
}

/** Node with the given flags and a clean environment (see make-launcher.js). */
function node(args, flags = E.NODE_FLAGS) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('NODE_')) delete env[name];
  return spawnSync(process.execPath, [...flags, ...args], { encoding: 'utf8', env });
}

const lastLine = (r) => (r.stderr || r.stdout || '').trim().split('\n').pop();

/**
 * Each code cache: its bundle, the flags the launcher starts it with, and the
 * command lines run to make it (separated by `--`; `@root` is an empty state
 * root, `@bundle` a bundle without rootfs, so these all fail early and change
 * nothing, having compiled the command line and the verb's first steps:
 * create's whole config validation).
 */
const CODE_CACHES = [
  { cache: E.READ_CACHE, bundle: E.READ_BUNDLE, flags: E.NODE_FLAGS, lines: ['--root', '@root', 'list', '--', '--root', '@root', 'state', 'none'] },
  {
    cache: E.LIFECYCLE_CACHE,
    bundle: E.LIFECYCLE_BUNDLE,
    flags: E.NODE_FLAGS,
    lines: ['--root', '@root', 'start', 'none', '--', '--root', '@root', 'delete', '--force', 'none', '--', '--root', '@root', 'kill', 'none', 'TERM'],
  },
  { cache: E.CREATE_CACHE, bundle: E.BUNDLE, flags: [...E.NODE_FLAGS, ...E.CREATE_FLAGS], lines: ['--root', '@root', 'create', '--bundle', '@bundle', 'none'] },
];

/** Makes one code cache; a reason when it cannot be used (then there is none). */
function buildCodeCache({ cache, bundle: file, flags, lines }) {
  const made = node([path.join(__dirname, 'build-code-cache.js'), file, cache, ...lines], flags);
  if (made.status !== 0 || !fs.existsSync(cache)) return `making it failed: ${lastLine(made)}`;
  const start = JSON.stringify(E.CACHED_START);
  const check = `const c=require(${start});process.stdout.write(String(c.compileBundle(${JSON.stringify(file)},c.readCodeCache(${JSON.stringify(file)},${JSON.stringify(cache)})).cachedDataRejected))`;
  const taken = node(['-e', check], flags);
  return taken.stdout === 'false' ? null : `V8 refuses it: ${lastLine(taken)}`;
}

function buildCodeCaches() {
  for (const entry of CODE_CACHES) {
    fs.rmSync(entry.cache, { force: true });
    const problem = buildCodeCache(entry);
    if (problem === null) continue;
    fs.rmSync(entry.cache, { force: true });
    process.stderr.write(`build-bundle: no code cache ${path.basename(entry.cache)} (${problem}); its verbs compile at each call\n`);
  }
}

/** Builds dist/snapshot/NAME.blob from src/cli/ENTRY; a reason when it cannot be used. */
function buildBlob(blob, entryFile) {
  const entry = blob.replace(/\.blob$/, '-entry.js');
  bundle(entryFile, entry, 'iife');
  const built = node(['--snapshot-blob', blob, '--build-snapshot', entry]);
  if (built.status !== 0) return `node --build-snapshot failed: ${lastLine(built)}`;
  const plain = node([E.BUNDLE, '--version']);
  const fromBlob = node(['--snapshot-blob', blob, '--', E.BUNDLE, '--version']);
  if (fromBlob.status !== 0 || fromBlob.stdout !== plain.stdout) return `the snapshot does not run here: ${lastLine(fromBlob)}`;
  return null;
}

function buildSnapshots() {
  fs.rmSync(E.SNAPSHOT_DIR, { recursive: true, force: true });
  fs.mkdirSync(E.SNAPSHOT_DIR, { recursive: true });
  const problem = buildBlob(E.READ_BLOB, 'snapshot-main.js') ?? buildBlob(E.FULL_BLOB, 'snapshot-full.js');
  if (problem !== null) return problem;
  try {
    fs.linkSync(fs.realpathSync(process.execPath), E.NODE_REF);
  } catch (err) {
    return `cannot hard-link ${process.execPath} beside it (${err.code}): the launcher could not tell when node changes`;
  }
  return null;
}

function main() {
  bundle('main.js', E.BUNDLE);
  bundle('main-read.js', E.READ_BUNDLE);
  bundle('main-lifecycle.js', E.LIFECYCLE_BUNDLE);
  buildCodeCaches();
  const problem = process.argv.includes('--no-snapshot') ? 'not asked for' : buildSnapshots();
  if (problem !== null) {
    fs.rmSync(E.SNAPSHOT_DIR, { recursive: true, force: true });
    process.stderr.write(`build-bundle: no startup snapshot (${problem}); tsrun runs the bundle\n`);
  }
}

main();
