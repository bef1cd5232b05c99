// The published runtime-spec schema in ../shared (draft-04), compiled for tests.
import fs from 'node:fs';
import path from 'node:path';
import Ajv04 from 'ajv-draft-04';
import type { ValidateFunction } from 'ajv';

export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tsrun') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no tsrun package.json above ${__dirname}`);
    dir = up;
  }
}

export const PUBLISHED_DIR = path.resolve(repoRoot(), '..', 'shared', 'oci-runtime-spec', 'schema');

/** Compiles one published schema file (e.g. config-schema.json), fixing its one non-standard ref in memory. */
export function loadPublished(name = 'config-schema.json'): ValidateFunction {
  const ajv = new Ajv04({ strict: false, allErrors: false });
  for (const file of fs.readdirSync(PUBLISHED_DIR)) {
    if (!file.endsWith('.json')) continue;
    // defs.json has "$ref": "#definitions/uint32" (no slash); ajv rejects it.
    const text = fs.readFileSync(path.join(PUBLISHED_DIR, file), 'utf8').replace(/"#definitions\//g, '"#/definitions/');
    ajv.addSchema(JSON.parse(text) as object, file);
  }
  const validate = ajv.getSchema(name);
  if (!validate) throw new Error(`${name} missing from the published schema`);
  return validate;
}
