#!/usr/bin/env node
// Build step (after tsc and compile-schema): what the launcher runs.
//
//   dist/tsrun.js          the CLI bundled into one file by esbuild (koffi's
//                          native module stays outside: it is a .node file)
//   dist/snapshot/         V8 startup snapshots of that bundle for the node
//                          binary running this script: `read.blob` (the
//                          command line and what state and list run) and
//                          `full.blob` (every verb's modules; a bigger heap,
//                          slower to load for a verb that only reads), and
//                          `node.ref`, a hard link to that binary: the launcher
//                          uses a snapshot only while its node is that file.
//
// Why: most of a tsrun call was Node reading and compiling ~100 modules;
// one file saves the lookups and reads, and the snapshot the compilation
// (README, "Start-up"). Node refuses a snapshot made by another binary or
// with other V8 flags (exit 14), so it is built with the launcher's own
// flags, smoke-tested here, and left out (the bundle alone is used) when
// anything about it fails. `--no-snapshot` builds the bundle only.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const repo = path.resolve(__dirname, '..');
const dist = path.join(repo, 'dist');
const snapshotDir = path.join(dist, 'snapshot');
/** The V8 flags tsrun runs with; the snapshot must be built with the same ones. */
const NODE_FLAGS = ['--single-threaded', '--expose-gc', '--no-warnings'];
const BUNDLE = path.join(dist, 'tsrun.js');

/** `iife` for the snapshot entry: the snapshot builder runs it with no `exports`. */
function bundle(entry, outfile, format = 'cjs') {
  require('esbuild').buildSync({
    entryPoints: [path.join(dist, 'src', 'cli', entry)],
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

/** Node with the launcher's flags and a clean environment (see make-launcher.js). */
function node(args) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('NODE_')) delete env[name];
  return spawnSync(process.execPath, [...NODE_FLAGS, ...args], { encoding: 'utf8', env });
}

/** Builds dist/snapshot/NAME.blob from src/cli/ENTRY; a reason when it cannot be used. */
function buildBlob(name, entryFile) {
  const entry = path.join(snapshotDir, `${name}-entry.js`);
  const blob = path.join(snapshotDir, `${name}.blob`);
  bundle(entryFile, entry, 'iife');
  const built = node(['--snapshot-blob', blob, '--build-snapshot', entry]);
  if (built.status !== 0) return `node --build-snapshot failed: ${(built.stderr || '').trim().split('\n').pop()}`;
  const plain = node([BUNDLE, '--version']);
  const fromBlob = node(['--snapshot-blob', blob, '--', BUNDLE, '--version']);
  if (fromBlob.status !== 0 || fromBlob.stdout !== plain.stdout) {
    return `the snapshot does not run here: ${(fromBlob.stderr || fromBlob.stdout).trim().split('\n').pop()}`;
  }
  return null;
}

function buildSnapshots() {
  fs.rmSync(snapshotDir, { recursive: true, force: true });
  fs.mkdirSync(snapshotDir, { recursive: true });
  const problem = buildBlob('read', 'snapshot-main.js') ?? buildBlob('full', 'snapshot-full.js');
  if (problem !== null) return problem;
  try {
    fs.linkSync(fs.realpathSync(process.execPath), path.join(snapshotDir, 'node.ref'));
  } catch (err) {
    return `cannot hard-link ${process.execPath} beside it (${err.code}): the launcher could not tell when node changes`;
  }
  return null;
}

function main() {
  bundle('main.js', BUNDLE);
  const problem = process.argv.includes('--no-snapshot') ? 'not asked for' : buildSnapshots();
  if (problem !== null) {
    fs.rmSync(snapshotDir, { recursive: true, force: true });
    process.stderr.write(`build-bundle: no startup snapshot (${problem}); tsrun runs the bundle\n`);
  }
}

main();
