// Schema validation of a parsed config.json, through the validator that
// hack/compile-schema.js generates from schema/*.schema.json at build time.
//
// Runtime code never imports ajv itself: compiling the schema on every
// `tsrun create` would cost far more than the rest of config loading.

import { ConfigError } from '../errors';

/** The subset of an ajv error object that the generated code fills in. */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

interface GeneratedValidator {
  (data: unknown): boolean;
  errors?: SchemaError[] | null;
}

let validator: GeneratedValidator | undefined;

// Loaded on first use so that modules importing this file for its types (or
// commands that never read a config) do not pay for the ~180 kB module.
function generated(): GeneratedValidator {
  if (validator === undefined) {
    // The file exists only after `node hack/compile-schema.js` (part of `npm run build`).
    try {
      validator = require('./generated/config-validator') as GeneratedValidator;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'MODULE_NOT_FOUND') throw e;
      throw new Error('config validator not built: run `node hack/compile-schema.js` after tsc');
    }
  }
  return validator;
}

/**
 * Validate `doc` against tsrun's config.json schema.
 * Returns the first error found, or null when the document is valid.
 */
export function firstSchemaError(doc: unknown): SchemaError | null {
  const validate = generated();
  if (validate(doc)) return null;
  const first = validate.errors?.[0];
  // A failed validation always carries an error; guard anyway so a generator
  // change cannot turn into "valid".
  return first ?? { instancePath: '', keyword: 'unknown', message: 'is not valid', params: {} };
}

/** True when `doc` passes the schema (semantic rules are not checked). */
export function isSchemaValid(doc: unknown): boolean {
  return generated()(doc);
}

/** One-line, user-facing text for a schema error (without the pointer). */
export function describeSchemaError(err: SchemaError): string {
  const base = err.message ?? `fails "${err.keyword}"`;
  if (err.keyword === 'enum' && Array.isArray(err.params.allowedValues)) {
    const allowed = (err.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
    return `${base}: ${allowed}`;
  }
  return base;
}

/**
 * Render a JSON pointer for a one-line message: control characters (possible
 * in map keys such as annotation names) are shown as \uXXXX escapes.
 */
export function printablePointer(pointer: string): string {
  return pointer.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Throw the first schema error of `doc` as a ConfigError naming `file`. */
export function assertSchemaValid(doc: unknown, file = 'config.json'): void {
  const err = firstSchemaError(doc);
  if (err !== null) {
    throw new ConfigError(file, printablePointer(err.instancePath), describeSchemaError(err));
  }
}
