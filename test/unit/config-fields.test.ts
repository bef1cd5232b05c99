// The audit that keeps "every config field is applied or refused" true: the
// published runtime-spec schema (../shared) is walked for every property a
// Linux config can carry, and each must be in docs/config-fields.json as
// applied (with tests that show it), refused (with a test of the refusal) or
// meaningless on Linux. The README's table is generated from that list.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PUBLISHED_DIR, repoRoot } from '../helpers/published-schema';

interface FieldGroup {
  feature: string;
  kind: 'applied' | 'refused' | 'meaningless';
  status: string;
  fields: string[];
  tests: Array<{ file: string; title: string }>;
}

type SchemaNode = Record<string, unknown>;

/** Every property pointer of config-schema.json ("*": any array item, "{}": any map key). */
function publishedPointers(): string[] {
  const files = new Map<string, SchemaNode>();
  for (const file of fs.readdirSync(PUBLISHED_DIR).filter((f) => f.endsWith('.json'))) {
    files.set(file, JSON.parse(fs.readFileSync(path.join(PUBLISHED_DIR, file), 'utf8').replace(/"#definitions\//g, '"#/definitions/')) as SchemaNode);
  }
  const found = new Set<string>();
  const resolve = (ref: string, current: string): [SchemaNode, string] => {
    const [file, fragment] = ref.split('#');
    const name = file || current;
    let node = files.get(name) as SchemaNode;
    for (const part of (fragment ?? '').split('/').filter(Boolean)) node = node[part] as SchemaNode;
    return [node, name];
  };
  const walk = (node: SchemaNode | undefined, file: string, at: string, seen: Set<string>): void => {
    if (!node || typeof node !== 'object') return;
    if (typeof node.$ref === 'string') {
      const key = `${file}${node.$ref}`;
      if (seen.has(key)) return;
      const [target, targetFile] = resolve(node.$ref, file);
      return walk(target, targetFile, at, new Set([...seen, key]));
    }
    for (const k of ['allOf', 'anyOf', 'oneOf']) (node[k] as SchemaNode[] | undefined)?.forEach((s) => walk(s, file, at, seen));
    for (const [name, sub] of Object.entries((node.properties ?? {}) as Record<string, SchemaNode>)) {
      found.add(`${at}/${name}`);
      walk(sub, file, `${at}/${name}`, seen);
    }
    for (const sub of Object.values((node.patternProperties ?? {}) as Record<string, SchemaNode>)) walk(sub, file, `${at}/{}`, seen);
    if (node.additionalProperties && typeof node.additionalProperties === 'object') walk(node.additionalProperties as SchemaNode, file, `${at}/{}`, seen);
    const items = node.items as SchemaNode | SchemaNode[] | undefined;
    if (items) (Array.isArray(items) ? items : [items]).forEach((s) => walk(s, file, `${at}/*`, seen));
  };
  walk(files.get('config-schema.json'), 'config-schema.json', '', new Set());
  return [...found];
}

/** The pointers that carry a value of their own: those with no property below them. */
function leaves(pointers: string[]): string[] {
  return pointers.filter((p) => !pointers.some((q) => q.startsWith(`${p}/`)));
}

const groups = (JSON.parse(fs.readFileSync(path.join(repoRoot(), 'docs', 'config-fields.json'), 'utf8')) as { groups: FieldGroup[] }).groups;

/** The group covering `pointer`: a field ending in "/" covers its whole subtree. */
function coveringGroups(pointer: string): FieldGroup[] {
  return groups.filter((g) => g.fields.some((f) => (f.endsWith('/') ? pointer === f.slice(0, -1) || pointer.startsWith(f) : pointer === f)));
}

describe('config fields: every property of the published schema is applied, refused or meaningless on Linux', () => {
  const published = publishedPointers();

  it('finds the schema (the walk has teeth)', () => {
    for (const p of ['/linux/resources/memory/limit', '/process/execCPUAffinity/final', '/linux/netDevices/{}/name', '/mounts/*/uidMappings/*/size', '/windows/layerFolders']) {
      assert.ok(published.includes(p), `${p} not found by the walk`);
    }
  });

  it('covers each property exactly once', () => {
    const missing = leaves(published).filter((p) => coveringGroups(p).length === 0);
    assert.deepEqual(missing, [], 'properties in no group of docs/config-fields.json');
    const twice = leaves(published).filter((p) => coveringGroups(p).length > 1);
    assert.deepEqual(twice, [], 'properties in more than one group');
  });

  it('names no property the schema lacks', () => {
    const stale = groups.flatMap((g) => g.fields).filter((f) => !published.includes(f.replace(/\/$/, '')));
    assert.deepEqual(stale, []);
  });

  it('shows each applied or refused group by tests that exist', () => {
    for (const g of groups) {
      assert.ok(['applied', 'refused', 'meaningless'].includes(g.kind), `${g.feature}: kind ${g.kind}`);
      assert.ok(g.status && !/TODO/.test(g.status), `${g.feature}: no status`);
      if (g.kind === 'meaningless') continue;
      assert.ok(g.tests.length > 0, `${g.feature}: ${g.kind} but no test named`);
      for (const t of g.tests) {
        const source = fs.readFileSync(path.join(repoRoot(), t.file), 'utf8');
        assert.ok(source.includes(t.title), `${g.feature}: no test "${t.title}" in ${t.file}`);
      }
    }
  });

  it("is what the README's field table says", () => {
    const { renderTable } = require(path.join(repoRoot(), 'hack', 'feature-table.js')) as { renderTable: () => string };
    const readme = fs.readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
    assert.ok(readme.includes(renderTable()), 'README.md is out of date: run node hack/feature-table.js --write');
  });
});
