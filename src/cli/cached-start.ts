// Starts a bundle from a V8 code cache hack/build-bundle.js made for it:
//
//   node FLAGS dist/src/cli/cached-start.js BUNDLE CACHE ARGS...
//
// node then skips compiling what the bundle ran when the cache was made
// (README, "Start-up": ~3 ms of the ~30 a `state` costs). V8 itself refuses
// a cache made by another V8 or with other flags (hence one cache per set
// of flags), and the bundle then compiles as it would have; a cache older
// than its bundle is not offered. Node's own loader has no such cache
// before Node 22 (module.enableCompileCache).
import { readFileSync, statSync } from 'node:fs';
import type NodeModule from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** Node's Module class, reached without loading the public `node:module` (~1 ms at each call). */
const Module = module.constructor as typeof NodeModule;

/** A bundle's code cache, when the file exists and is at least as new as the bundle. */
export function readCodeCache(bundle: string, cache: string): Buffer | undefined {
  try {
    if (statSync(cache).mtimeMs < statSync(bundle).mtimeMs) return undefined;
    return readFileSync(cache);
  } catch {
    return undefined;
  }
}

/** Compiles a CommonJS bundle as node's loader would (the same wrapper), with a code cache when given one. */
export function compileBundle(bundle: string, cachedData: Buffer | undefined): Script {
  return new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
}

/** Runs a compiled bundle as a module of its own: its require resolves beside it. */
export function runBundle(script: Script, bundle: string): void {
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  const bundleModule = { exports: {}, filename: bundle, id: bundle };
  wrapper.call(bundleModule.exports, bundleModule.exports, Module.createRequire(bundle), bundleModule, bundle, dirname(bundle));
}

/** As node runs a script: process.argv[1] is the bundle, the rest its arguments. */
function main(): void {
  const [bundle, cache] = process.argv.slice(2, 4);
  if (cache === undefined) throw new Error('usage: cached-start.js BUNDLE CACHE [ARG...]');
  process.argv.splice(1, 3, bundle);
  runBundle(compileBundle(bundle, readCodeCache(bundle, cache)), bundle);
}

if (require.main === module) main();
