// Reading and writing cgroup interface files with errors that name the file,
// the value and the config field behind it.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, UserError, configError } from '../errors';
import type { CgroupWrite } from './types';

/**
 * A cgroup file the kernel refused: the message for the user, the errno name
 * for callers that can recover. When the write comes from a config field,
 * `config` is the ConfigError naming it (its pointer, and the message shown).
 */
export class CgroupWriteError extends UserError {
  constructor(
    what: string,
    readonly code: string,
    readonly config?: ConfigError,
  ) {
    super(config?.message ?? what);
    this.name = 'CgroupWriteError';
  }
}

export function writeCgroupFile(path: string, value: string, field?: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const what = `write ${JSON.stringify(value)} to ${path}: ${code}`;
    throw new CgroupWriteError(what, code, field ? configError(field, what) : undefined);
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

/** The sub-cgroups of `dir` (its directories; the rest are interface files). */
export function childCgroups(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Every pid in `dir` and the cgroups below it: cgroup.procs lists only a
 * cgroup's own members, and an init system inside may have made sub-cgroups.
 */
export function pidsBelow(dir: string): number[] {
  let pids: number[] = [];
  try {
    pids = readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
  for (const child of childCgroups(dir)) pids.push(...pidsBelow(`${dir}/${child}`));
  return pids;
}
