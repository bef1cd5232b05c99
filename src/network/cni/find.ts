// Finding a named network among configuration files, the way CNI runtimes
// do: in each directory in turn, the *.conflist, *.conf and *.json files in
// lexical order, the first whose "name" matches winning. A file that is not
// JSON cannot be matched by name; it does not stop the search, but is named
// in the not-found error so a broken file is not silently ignored. A file
// whose name matches but whose content is wrong is an error of its own.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors';
import type { NetworkConfigList } from '../types';
import { parseNetworkConfig } from './config';

export const DEFAULT_CONFIG_DIRS = ['/etc/cni/net.d'];

const CONFIG_FILE = /\.(conflist|conf|json)$/;

function configFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UserError(`CNI configuration directory ${dir}: ${(err as Error).message}`);
  }
  return names.filter((n) => CONFIG_FILE.test(n)).sort().map((n) => join(dir, n));
}

/** The file's "name", or null when the file cannot be read as a JSON object. */
function nameIn(text: string): string | null {
  try {
    const doc: unknown = JSON.parse(text);
    const name = (doc as { name?: unknown } | null)?.name;
    return typeof name === 'string' ? name : null;
  } catch {
    return null;
  }
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null; // a directory or an unreadable file named *.conf: reported as unreadable
  }
}

export function findNetwork(name: string, configDirs: string[] = DEFAULT_CONFIG_DIRS): { list: NetworkConfigList; file: string } {
  const seen: string[] = [];
  const unreadable: string[] = [];
  for (const file of configDirs.flatMap(configFiles)) {
    const text = readText(file);
    const found = text === null ? null : nameIn(text);
    if (found === name) return { list: parseNetworkConfig(text!, file), file };
    if (found === null) unreadable.push(file);
    else if (!seen.includes(found)) seen.push(found);
  }
  const networks = seen.length > 0 ? `networks found: ${seen.join(', ')}` : 'no networks found';
  const broken = unreadable.length > 0 ? `; not readable as a network configuration: ${unreadable.join(', ')}` : '';
  throw new UserError(`network "${name}" not found in ${configDirs.join(', ')} (${networks}${broken})`);
}
