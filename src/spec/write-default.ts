// `tsrun spec`: the default config.json, refusing to overwrite one.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors';
import { defaultSpec } from './default-spec';
import type { Spec } from './types';

export function writeDefaultSpec(bundleDir: string, rootless: boolean, amend?: (spec: Spec) => void): string {
  const path = join(bundleDir, 'config.json');
  const spec = defaultSpec({ rootless });
  amend?.(spec);
  try {
    writeFileSync(path, JSON.stringify(spec, null, '\t') + '\n', { flag: 'wx', mode: 0o666 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UserError(`File ${path} exists. Remove it first`);
    if (code === 'ENOENT') throw new UserError(`bundle directory ${bundleDir} does not exist`);
    throw err;
  }
  return path;
}
