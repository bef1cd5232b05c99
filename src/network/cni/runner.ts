// ADD and DEL of a whole network configuration list for one container
// (SPEC.md "Attaching to a network" / "Deleting a network attachment"),
// with the container's loopback brought up first by the loopback plugin.
// An ADD either completes or is undone: every plugin is looked up before any
// runs, and a failing plugin makes the runner DEL what was added.
import { UserError } from '../../errors';
import type { Attachment, CniResult, NetworkConfigList, PluginConfig } from '../types';
import type { CniOptions } from './options';
import { sweepBridgeMasquerade } from './masquerade-sweep';
import { locatePlugin, pluginStdin, runPlugin, type CniCommand } from './plugin-exec';

/** The loopback plugin needs nothing but its type; it runs on "lo", outside the list's chain of results. */
const LOOPBACK: PluginConfig = { type: 'loopback' };

function loopbackOf(att: Attachment): Attachment {
  return { ...att, ifName: 'lo', portMappings: [] };
}

function failure(list: NetworkConfigList, plugin: PluginConfig, command: CniCommand, reason: string): string {
  return `network "${list.name}": plugin "${plugin.type}" (${command}): ${reason}`;
}

/** Every plugin's path, loopback's included, so a missing one stops the ADD before anything is made. */
function pluginPaths(list: NetworkConfigList, dirs: string[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const { type } of [LOOPBACK, ...list.plugins]) if (!paths.has(type)) paths.set(type, locatePlugin(type, dirs));
  return paths;
}

function parseResult(stdout: string): CniResult | null {
  try {
    const r: unknown = JSON.parse(stdout);
    return typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as CniResult) : null;
  } catch {
    return null;
  }
}

function addOne(list: NetworkConfigList, plugin: PluginConfig, path: string, att: Attachment, prev: CniResult | null, opts: CniOptions): CniResult {
  const out = runPlugin(path, 'ADD', pluginStdin(list, plugin, att, prev), att, opts);
  if (!out.ok) throw new UserError(failure(list, plugin, 'ADD', out.reason));
  const result = parseResult(out.stdout);
  if (result === null) throw new UserError(failure(list, plugin, 'ADD', `printed no result JSON: ${JSON.stringify(out.stdout.slice(0, 200))}`));
  return result;
}

/** One plugin's DEL; the failures it had (none, or one line, plus any the masquerade sweep had). */
function delOne(list: NetworkConfigList, plugin: PluginConfig, att: Attachment, prev: CniResult | null, opts: CniOptions): string[] {
  let path: string;
  try {
    path = locatePlugin(plugin.type, opts.pluginDirs);
  } catch (err) {
    return [failure(list, plugin, 'DEL', (err as Error).message)];
  }
  const out = runPlugin(path, 'DEL', pluginStdin(list, plugin, att, prev), att, opts);
  const failures = out.ok ? [] : [failure(list, plugin, 'DEL', out.reason)];
  if (plugin.type === 'bridge' && plugin.ipMasq === true) {
    failures.push(...sweepBridgeMasquerade(list.name, att.containerId).map((f) => `network "${list.name}": ${f}`));
  }
  return failures;
}

/** DEL of `plugins` in reverse order, then of the loopback; continues past failures. */
function delPlugins(list: NetworkConfigList, plugins: PluginConfig[], att: Attachment, prev: CniResult | null, opts: CniOptions): string[] {
  const failures = [...plugins].reverse().flatMap((p) => delOne(list, p, att, prev, opts));
  failures.push(...delOne(list, LOOPBACK, loopbackOf(att), null, opts));
  return failures;
}

/**
 * ADD: lo through the loopback plugin, then each plugin of the list in
 * order, each given the result before it; returns the last result. On a
 * failure, what was added is deleted again and a UserError says
 * `network "<name>": plugin "<type>" (ADD): <msg>: <details>`.
 */
export function addNetwork(list: NetworkConfigList, att: Attachment, opts: CniOptions): CniResult {
  const paths = pluginPaths(list, opts.pluginDirs);
  const tried: PluginConfig[] = [];
  let prev: CniResult | null = null;
  try {
    addOne(list, LOOPBACK, paths.get(LOOPBACK.type)!, loopbackOf(att), null, opts);
    for (const plugin of list.plugins) {
      // The failing plugin is undone too: it may have failed halfway, and a DEL of what is not there is harmless (SPEC.md).
      tried.push(plugin);
      prev = addOne(list, plugin, paths.get(plugin.type)!, att, prev, opts);
    }
    return prev!;
  } catch (err) {
    const undoFailures = delPlugins(list, tried, att, prev, opts);
    if (undoFailures.length === 0) throw err;
    throw new UserError(`${(err as Error).message} (undoing the ADD: ${undoFailures.join('; ')})`, { cause: err });
  }
}

/**
 * DEL: every plugin in reverse order, then lo; never stops at a failure and
 * returns the failures, one line each (none: clean). `att.netns` may be ""
 * once the namespace is gone. Pass the ADD result as `prevResult`: without
 * it the firewall plugin cannot tell which address's rules to remove.
 */
export function delNetwork(list: NetworkConfigList, att: Attachment, prevResult: CniResult | null, opts: CniOptions): string[] {
  return delPlugins(list, list.plugins, att, prevResult, opts);
}
