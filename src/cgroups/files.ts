// Reading and writing cgroup interface files with errors that name the file,
// the value and the config field behind it.
import { readFileSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors';
import type { CgroupWrite } from './types';

export function writeCgroupFile(path: string, value: string, field?: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const what = `write ${JSON.stringify(value)} to ${path}: ${code}`;
    throw new UserError(field ? `config.json: ${field}: ${what}` : what);
  }
}

export function readCgroupFile(path: string): string {
  return readFileSync(path, 'utf8');
}

export function readCgroupNumber(path: string): number {
  const text = readCgroupFile(path).trim();
  return text === 'max' ? Number.MAX_SAFE_INTEGER : Number(text);
}

/**
 * Applies writes in order. Some pairs only work in one order depending on
 * the values already there (memory limit vs memory+swap limit): a write
 * that fails is retried once after all the others.
 */
export function applyWrites(writes: CgroupWrite[], dirOf: (controller: string) => string): void {
  const failed: CgroupWrite[] = [];
  for (const w of writes) {
    try {
      writeCgroupFile(`${dirOf(w.controller)}/${w.file}`, w.value, w.field);
    } catch {
      failed.push(w);
    }
  }
  for (const w of failed) writeCgroupFile(`${dirOf(w.controller)}/${w.file}`, w.value, w.field);
}
