// Reading a CNI network configuration: a .conflist (a list of plugins), or a
// single-plugin .conf turned into a list of one. Only what the runner relies
// on is checked (SPEC.md "Network configuration format"): the version, the
// network's name, and each plugin's `type` and `capabilities`; the rest of a
// plugin's configuration (ipam, bridge, ...) is the plugin's to judge. Every
// error names the file and the JSON pointer of the faulty value.
import { ConfigError, UserError } from '../../errors';
import type { NetworkConfigList, PluginConfig } from '../types';

/** SPEC.md: a name starts with a letter or digit, then letters, digits, "_", "." or "-". */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** A semantic version as CNI writes it ("1.0.0", "0.4.0"). */
const VERSION = /^\d+\.\d+\.\d+$/;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const at = /at position (\d+)/.exec(msg);
    if (at === null) throw new UserError(`${file}: not valid JSON: ${msg}`);
    const before = text.slice(0, Number(at[1])).split('\n');
    throw new UserError(`${file}: not valid JSON: ${msg} (line ${before.length}, column ${before[before.length - 1].length + 1})`);
  }
}

function checkVersion(doc: Json, file: string): string {
  const v = doc.cniVersion;
  if (v === undefined) throw new ConfigError(file, '/cniVersion', 'missing (the CNI spec version, e.g. "1.0.0")');
  if (typeof v !== 'string' || !VERSION.test(v)) throw new ConfigError(file, '/cniVersion', `${JSON.stringify(v)} is not a version like "1.0.0"`);
  return v;
}

function checkName(doc: Json, file: string): string {
  const n = doc.name;
  if (n === undefined) throw new ConfigError(file, '/name', 'missing (the network name)');
  if (typeof n !== 'string' || !NETWORK_NAME.test(n)) {
    throw new ConfigError(file, '/name', `${JSON.stringify(n)} is not a network name (a letter or digit, then letters, digits, "_", "." or "-")`);
  }
  return n;
}

/** `at` is the plugin's JSON pointer: "/plugins/2" in a list, "" in a single-plugin .conf. */
function checkPlugin(p: unknown, file: string, at: string): PluginConfig {
  if (!isObject(p)) throw new ConfigError(file, at || '/', 'a plugin configuration must be a JSON object');
  const type = p.type;
  if (type === undefined) throw new ConfigError(file, `${at}/type`, 'missing (the plugin to run, e.g. "bridge")');
  if (typeof type !== 'string' || type === '' || type === '.' || type === '..' || type.includes('/')) {
    throw new ConfigError(file, `${at}/type`, `${JSON.stringify(type)} is not a plugin name (a file name in the plugin directories)`);
  }
  const caps = p.capabilities;
  if (caps !== undefined) {
    if (!isObject(caps)) throw new ConfigError(file, `${at}/capabilities`, 'must be an object of booleans');
    for (const [key, on] of Object.entries(caps)) {
      if (typeof on !== 'boolean') throw new ConfigError(file, `${at}/capabilities/${key}`, `${JSON.stringify(on)} is not true or false`);
    }
  }
  return p as PluginConfig;
}

function checkPluginList(doc: Json, file: string): PluginConfig[] {
  const plugins = doc.plugins;
  if (plugins === undefined) throw new ConfigError(file, '/plugins', 'missing (a .conflist lists its plugins; a single-plugin .conf has a "type")');
  if (!Array.isArray(plugins)) throw new ConfigError(file, '/plugins', 'must be a list of plugin configurations');
  if (plugins.length === 0) throw new ConfigError(file, '/plugins', 'is empty: a network needs at least one plugin');
  return plugins.map((p, i) => checkPlugin(p, file, `/plugins/${i}`));
}

/**
 * A network configuration list from the text of `file` (named in errors
 * only). A document with "plugins" is a list; one without "plugins" but with
 * "type" is a single plugin's .conf, which becomes a list of that plugin
 * (its cniVersion and name moved to the list).
 */
export function parseNetworkConfig(text: string, file: string): NetworkConfigList {
  const doc = parseJson(text, file);
  if (!isObject(doc)) throw new ConfigError(file, '/', 'a network configuration must be a JSON object');
  const cniVersion = checkVersion(doc, file);
  const name = checkName(doc, file);
  if (doc.plugins === undefined && doc.type !== undefined) {
    const { cniVersion: _v, name: _n, ...plugin } = doc;
    return { cniVersion, name, plugins: [checkPlugin(plugin, file, '')] };
  }
  if (doc.disableCheck !== undefined && typeof doc.disableCheck !== 'boolean') {
    throw new ConfigError(file, '/disableCheck', `${JSON.stringify(doc.disableCheck)} is not true or false`);
  }
  const list: NetworkConfigList = { cniVersion, name, plugins: checkPluginList(doc, file) };
  if (doc.disableCheck !== undefined) list.disableCheck = doc.disableCheck as boolean;
  return list;
}
