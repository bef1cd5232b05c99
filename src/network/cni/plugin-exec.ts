// Running one CNI plugin the way SPEC.md (v1.0, "Execution protocol") says:
// the parameters in CNI_* environment variables, the plugin's configuration
// on stdin, a result (or an error) as JSON on stdout.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors';
import type { Attachment, CniResult, NetworkConfigList, PluginConfig } from '../types';
import type { CniOptions } from './options';

export type CniCommand = 'ADD' | 'DEL';

const DEFAULT_TIMEOUT_MS = 60_000;
/** Plugins run iptables and ip through PATH; a hook may be started with no environment at all. */
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The path of the plugin named `type`: the first plugin directory that has it. */
export function locatePlugin(type: string, dirs: string[]): string {
  for (const dir of dirs) {
    const path = join(dir, type);
    if (isExecutableFile(path)) return path;
  }
  throw new UserError(`CNI plugin "${type}" not found in ${dirs.join(':')}: install Debian's containernetworking-plugins`);
}

/**
 * What the plugin reads on stdin (SPEC.md "Deriving execution configuration
 * from plugin configuration"): its own configuration with the list's
 * cniVersion and name, `capabilities` replaced by `runtimeConfig` holding
 * only what it declared it can take, and the previous result when there is one.
 */
export function pluginStdin(list: NetworkConfigList, plugin: PluginConfig, att: Attachment, prevResult: CniResult | null): Record<string, unknown> {
  const { capabilities, ...rest } = plugin;
  const config: Record<string, unknown> = { ...rest, cniVersion: list.cniVersion, name: list.name };
  delete config.runtimeConfig;
  delete config.prevResult;
  const runtimeConfig: Record<string, unknown> = {};
  if (capabilities?.portMappings === true) runtimeConfig.portMappings = att.portMappings;
  if (Object.keys(runtimeConfig).length > 0) config.runtimeConfig = runtimeConfig;
  if (prevResult !== null) config.prevResult = prevResult;
  return config;
}

function pluginEnv(command: CniCommand, att: Attachment, opts: CniOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // The caller's CNI_* variables (a CNI_ARGS left in a hook's environment, say) must not reach the plugin.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CNI_')) env[k] = v;
  env.PATH ||= FALLBACK_PATH;
  Object.assign(env, { CNI_COMMAND: command, CNI_CONTAINERID: att.containerId, CNI_NETNS: att.netns, CNI_IFNAME: att.ifName, CNI_PATH: opts.pluginDirs.join(':') });
  const args = Object.entries(opts.cniArgs ?? {});
  if (args.length > 0) env.CNI_ARGS = args.map(([k, v]) => `${k}=${v}`).join(';');
  return env;
}

function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' ');
}

/** A failed run's one-line reason: the plugin's error JSON ({code, msg, details}) when it printed one. */
function failureReason(status: number | null, stdout: string, stderr: string): string {
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof e.msg === 'string') {
      const details = typeof e.details === 'string' && e.details.trim() !== '' ? `: ${e.details}` : '';
      return oneLine(`${e.msg}${details}`);
    }
  } catch {
    // not an error document: fall back to what it wrote on stderr
  }
  const said = oneLine(stderr) || oneLine(stdout);
  return `exit status ${status}${said ? `: ${said.slice(0, 500)}` : ''}`;
}

export type PluginOutcome = { ok: true; stdout: string } | { ok: false; reason: string };

/** Runs the plugin at `path` once; never throws for the plugin's own failure. */
export function runPlugin(path: string, command: CniCommand, stdin: object, att: Attachment, opts: CniOptions): PluginOutcome {
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const r = spawnSync(path, [], {
    input: JSON.stringify(stdin),
    env: pluginEnv(command, att, opts),
    encoding: 'utf8',
    timeout,
    killSignal: 'SIGKILL',
    maxBuffer: 16 * 1024 * 1024,
  });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') return { ok: false, reason: `no answer after ${timeout / 1000} s (killed)` };
  if (r.error) return { ok: false, reason: `cannot run ${path}: ${r.error.message}` };
  if (r.signal !== null) return { ok: false, reason: `killed by ${r.signal}` };
  if (r.status !== 0) return { ok: false, reason: failureReason(r.status, r.stdout, r.stderr) };
  return { ok: true, stdout: r.stdout };
}
