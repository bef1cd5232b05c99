// The runtime-spec `process` that `tsrun exec` runs: either the JSON object of
// `--process FILE` (what containerd and conmon pass), checked like the
// process of a config.json, or the container's own process from its
// config.json with runc's flags laid over it. Pure: no kernel calls.
import { readFileSync } from 'node:fs';
import type { LinuxCapabilities, Process, Spec } from '../../spec/types';
import { ConfigError, UserError, configError } from '../../errors';
import { parseConfigText } from '../../spec/load';
import { assertSchemaValid } from '../../spec/validate';
import { checkSemantics } from '../../spec/semantic';
import { CAPABILITIES } from '../../linux/capability-names';

/** runc exec's flags that change the process (each absent one leaves the config's value). */
export interface ExecOverrides {
  args: string[];
  cwd?: string;
  /** K=V, appended; a key given twice keeps its last value. */
  env: string[];
  /** "UID" or "UID:GID", numbers as runc takes them. */
  user?: string;
  additionalGids: string[];
  caps: string[];
  noNewPrivs?: boolean;
  apparmor?: string;
  processLabel?: string;
  tty?: boolean;
}

/** Reads and checks `--process FILE`; errors name the file and the field. */
export function processFromFile(file: string, spec: Spec, bundle: string): Process {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`--process ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const parsed = parseConfigText(text, file);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(file, '', 'must be a JSON object (a runtime-spec process)');
  }
  // Checked in place in the container's config, so that the schema and the
  // semantic rules of config.json's /process apply unchanged.
  const doc: Spec = { ...spec, process: parsed as Process };
  try {
    assertSchemaValid(doc, file);
    checkSemantics(doc, bundle);
  } catch (err) {
    if (err instanceof ConfigError && err.pointer.startsWith('/process')) {
      throw new ConfigError(file, err.pointer.slice('/process'.length), err.detail);
    }
    throw err;
  }
  return parsed as Process;
}

/** The config's process with runc exec's flags applied (runc's getProcess). */
export function processFromFlags(base: Process | undefined, o: ExecOverrides): Process {
  if (!base) throw configError('/process', 'missing: give --process FILE');
  if (o.args.length === 0) throw new UserError('exec: no command: give CMD [ARGS...] after the container id, or --process FILE');
  const p: Process = structuredClone(base);
  p.args = o.args;
  p.terminal = o.tty ?? false;
  if (o.cwd) p.cwd = o.cwd;
  if (o.apparmor) p.apparmorProfile = o.apparmor;
  if (o.processLabel) p.selinuxLabel = o.processLabel;
  if (o.noNewPrivs !== undefined) p.noNewPrivileges = o.noNewPrivs;
  if (o.caps.length > 0) p.capabilities = withAddedCapabilities(p.capabilities, o.caps);
  p.env = mergeEnv(p.env ?? [], o.env);
  if (o.user) p.user = { ...p.user, ...parseUser(o.user) };
  if (o.additionalGids.length > 0) {
    p.user = { ...p.user, additionalGids: [...(p.user.additionalGids ?? []), ...o.additionalGids.map(parseGid)] };
  }
  if (!p.cwd.startsWith('/')) throw new UserError(`--cwd ${p.cwd}: must be an absolute path`);
  return p;
}

/** "1000" or "1000:1000", with runc's words for a bad number. */
export function parseUser(text: string): { uid: number; gid?: number } {
  const [uidText, gidText] = text.split(/:(.*)/s, 2);
  const uid = parseId(uidText, 'uid');
  return gidText === undefined ? { uid } : { uid, gid: parseId(gidText, 'gid') };
}

function parseId(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) throw new UserError(`parsing ${text} as int for ${what} failed`);
  return Number(text);
}

function parseGid(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) throw new UserError(`additional-gids must be a positive number: ${text}`);
  return Number(text);
}

/**
 * runc's --cap: added to bounding, effective and permitted; to ambient only
 * when the config has an inheritable set (ambient needs inheritable).
 * "net_admin" is read as CAP_NET_ADMIN.
 */
export function withAddedCapabilities(caps: LinuxCapabilities | undefined, added: string[]): LinuxCapabilities {
  const out: LinuxCapabilities = structuredClone(caps ?? {});
  for (const raw of added) {
    const upper = raw.toUpperCase();
    const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
    if (CAPABILITIES[name] === undefined) throw new UserError(`--cap ${raw}: unknown capability`);
    for (const set of ['bounding', 'effective', 'permitted'] as const) out[set] = addOnce(out[set], name);
    if (out.inheritable !== undefined) out.ambient = addOnce(out.ambient, name);
  }
  return out;
}

function addOnce(list: string[] | undefined, name: string): string[] {
  const next = list ?? [];
  return next.includes(name) ? next : [...next, name];
}

/** `extra` appended to `env`; a key set twice keeps its last value, where it first appeared (runc 1.2's rule). */
export function mergeEnv(env: string[], extra: string[]): string[] {
  const order: string[] = [];
  const values = new Map<string, string>();
  for (const entry of extra) {
    if (entry.indexOf('=') <= 0) throw new UserError(`--env ${entry}: must be KEY=VALUE`);
  }
  for (const entry of [...env, ...extra]) {
    const eq = entry.indexOf('=');
    const key = eq > 0 ? entry.slice(0, eq) : entry;
    if (!values.has(key)) order.push(key);
    values.set(key, entry);
  }
  return order.map((key) => values.get(key) as string);
}
