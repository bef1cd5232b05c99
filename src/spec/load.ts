// Reading and validating a bundle's config.json: parse, schema check (the
// build-time generated validator), then the semantic rules. Every failure is
// a ConfigError whose message is one line naming the file and JSON pointer,
// e.g. `config.json: /process: must have required property 'cwd'`.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { findJsonSyntaxProblem } from './json-error';
import { checkSemantics } from './semantic';
import type { Spec } from './types';
import { assertSchemaValid } from './validate';

export { resolveRootfs } from './semantic';

const FILE = 'config.json';

/** Load `<bundleDir>/config.json`; throws ConfigError if it is missing or invalid. */
export function loadConfig(bundleDir: string): Spec {
  const file = path.join(bundleDir, FILE);
  const doc = parseConfigText(readConfig(file), FILE);
  assertSchemaValid(doc, FILE);
  const spec = doc as Spec;
  checkSemantics(spec, bundleDir);
  return spec;
}

function readConfig(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    throw new ConfigError(FILE, '', `cannot read ${file}: ${why}`);
  }
}

/** JSON.parse with a one-line, positioned ConfigError on bad syntax. */
export function parseConfigText(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const p = findJsonSyntaxProblem(text);
    const where = p === null ? '' : ` at line ${p.line}, column ${p.column}: ${p.what}`;
    throw new ConfigError(file, '', `invalid JSON${where}`);
  }
}
