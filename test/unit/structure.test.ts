// The layout rules of docs/architecture.md §1, read from the sources: no two
// folders import each other (directly or round a longer loop), and only
// src/linux declares C functions.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const SRC = join(__dirname, '..', '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** src/<folder>, and src/process/<folder> for the process pipelines' parts. */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  if (parts.length === 1) return parts[0].replace(/\.ts$/, '');
  return parts[0] === 'process' && parts.length > 2 ? `process/${parts[1]}` : parts[0];
}

function folderImports(): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const from = folderOf(file);
      const to = folderOf(normalize(join(dirname(file), m[1])) + '.ts');
      if (from === to) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
    }
  }
  return edges;
}

/** A loop of folders importing each other, or null. */
function findCycle(edges: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    if (state.get(node) === 'done') return null;
    state.set(node, 'open');
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

describe('source layout', () => {
  it('the folders import each other in one direction only', () => {
    const edges = folderImports();
    assert.ok(edges.get('lifecycle')?.has('process/create'), 'the scan finds imports');
    assert.equal(findCycle(edges)?.join(' -> ') ?? null, null);
  });

  it('a loop would be found (the check has teeth)', () => {
    const edges = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
    ]);
    assert.deepEqual(findCycle(edges), ['a', 'b', 'c', 'a']);
  });

  it('only src/linux declares C functions with koffi', () => {
    const outside = sourceFiles(SRC).filter((f) => folderOf(f) !== 'linux' && /from ['"]koffi['"]|require\(['"]koffi['"]\)/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(outside.map((f) => relative(SRC, f)), []);
  });
});
