// src/cli/cached-start.ts: a bundle compiled from its V8 code cache runs as
// node would run it, the cache is offered only when it is at least as new as
// the bundle, and one V8 refuses costs nothing but the compilation.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileBundle, readCodeCache, runBundle } from '../../src/cli/cached-start';

type Seen = { file: string; dir: string; sep: string; answer: number };

describe('cached-start', () => {
  let dir: string;
  let bundle: string;
  let cache: string;
  const seen = () => (globalThis as { cachedStartSeen?: Seen }).cachedStartSeen;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-cached-start-'));
    bundle = join(dir, 'bundle.js');
    cache = join(dir, 'bundle.js.cache');
    // What a bundle needs of its module wrapper: its file, its directory and a require resolving beside it.
    writeFileSync(
      bundle,
      'function answer() { return 6 * 7; }\n' +
        'globalThis.cachedStartSeen = { file: __filename, dir: __dirname, sep: require("node:path").sep, answer: answer() };\n',
    );
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    delete (globalThis as { cachedStartSeen?: Seen }).cachedStartSeen;
  });

  function makeCache(): void {
    const script = compileBundle(bundle, undefined);
    runBundle(script, bundle);
    writeFileSync(cache, script.createCachedData());
  }

  it('runs a bundle with its file, directory and require, from a cache V8 takes', () => {
    makeCache();
    const script = compileBundle(bundle, readCodeCache(bundle, cache));
    assert.equal(script.cachedDataRejected, false);
    runBundle(script, bundle);
    assert.deepEqual(seen(), { file: bundle, dir, sep: '/', answer: 42 });
  });

  it('offers no cache older than its bundle, nor a missing one', () => {
    makeCache();
    assert.ok(readCodeCache(bundle, cache) instanceof Buffer);
    const past = new Date(Date.now() - 60_000);
    utimesSync(cache, past, past);
    assert.equal(readCodeCache(bundle, cache), undefined);
    assert.equal(readCodeCache(bundle, join(dir, 'none.cache')), undefined);
  });

  it('still runs the bundle when V8 refuses the cache: not one, or made for other source', () => {
    writeFileSync(cache, 'not a code cache');
    const garbage = compileBundle(bundle, readCodeCache(bundle, cache));
    assert.equal(garbage.cachedDataRejected, true);
    runBundle(garbage, bundle);
    assert.equal(seen()?.answer, 42);
    makeCache();
    writeFileSync(bundle, 'globalThis.cachedStartSeen = { answer: 7 };\n');
    utimesSync(cache, new Date(), new Date(Date.now() + 60_000));
    const other = compileBundle(bundle, readCodeCache(bundle, cache));
    assert.equal(other.cachedDataRejected, true);
    runBundle(other, bundle);
    assert.equal(seen()?.answer, 7);
  });
});
