#!/usr/bin/env node
// Writes CACHE, V8's code cache of BUNDLE, for src/cli/cached-start.ts:
//
//   node FLAGS hack/build-code-cache.js BUNDLE CACHE VERB-ARGS [-- VERB-ARGS ...]
//
// Run by hack/build-bundle.js with the node flags the launcher will start
// the bundle with (V8 refuses a cache made with others). The bundle runs once
// per command line, in this process, so the functions those verbs call are
// compiled and land in the cache, not only the top level. In the arguments,
// `@root` is a fresh empty state root and `@bundle` a bundle directory with
// `tsrun spec`'s config.json and no rootfs: a create from it validates the
// whole config, then stops at the missing rootfs. The caller throws away what
// the verbs print.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { compileBundle, runBundle } = require('../dist/src/cli/cached-start.js');

function commandLines(args) {
  const lines = [[]];
  for (const arg of args) {
    if (arg === '--') lines.push([]);
    else lines[lines.length - 1].push(arg);
  }
  return lines.filter((l) => l.length > 0);
}

/** The placeholders' directories, made in `scratch`. */
function placeholders(scratch, bundle) {
  const root = path.join(scratch, 'root');
  const specBundle = path.join(scratch, 'bundle');
  fs.mkdirSync(root);
  fs.mkdirSync(specBundle);
  const spec = spawnSync(process.execPath, [bundle, 'spec', '--bundle', specBundle], { encoding: 'utf8' });
  if (spec.status !== 0) throw new Error(`tsrun spec for the cache's bundle failed: ${spec.stderr.trim()}`);
  return (arg) => arg.split('@root').join(root).split('@bundle').join(specBundle);
}

function main() {
  const [bundle, cache, ...rest] = process.argv.slice(2);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-code-cache-'));
  process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));
  const fill = placeholders(scratch, bundle);
  const script = compileBundle(bundle, undefined);
  for (const line of commandLines(rest)) {
    process.argv = [process.argv[0], bundle, ...line.map(fill)];
    runBundle(script, bundle);
  }
  // The verbs are asynchronous: the cache is taken once they have all ended.
  process.on('exit', () => {
    fs.writeFileSync(cache, script.createCachedData());
    process.exitCode = 0;
  });
}

main();
