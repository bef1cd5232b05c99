// How a CLI verb is described: once, as data, used both by the fast parser
// (yargs-parser, the light part of yargs) and by the help text (full yargs,
// loaded only for --help).
import type { RootlessFlag } from '../lifecycle/rootless';

export interface OptionSpec {
  type: 'string' | 'boolean' | 'number';
  describe: string;
  alias?: string;
  default?: string | boolean | number;
  choices?: string[];
  /** May be given several times (exec's --env, --cap): every value is kept, in order, as an array. */
  multiple?: boolean;
}

export interface GlobalOptions {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  /** --rootless: true, false or auto (decided by create: see lifecycle/rootless.ts). */
  rootless: RootlessFlag;
}

export type ParsedArgs = Record<string, unknown> & { _: string[] };

export interface CommandSpec {
  name: string;
  /** e.g. "<container-id>" or "<container-id> [signal]". */
  positional: string;
  describe: string;
  /** Positional arguments: [min, max]; max -1 is unbounded. */
  arity: [number, number];
  options: Record<string, OptionSpec>;
  /** Stop parsing options at the first positional argument after these many (exec's command line). */
  haltAfterPositionals?: number;
  /** false for verbs that never touch the state root (spec, features): they work whatever $XDG_RUNTIME_DIR is. */
  usesState?: boolean;
  /** Loads the implementation lazily so each verb pays only for what it uses. */
  run(args: ParsedArgs, globals: GlobalOptions): Promise<number | void> | number | void;
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  root: { type: 'string', describe: 'root directory for storage of container state' },
  log: { type: 'string', describe: 'set the log file to write tsrun logs to' },
  'log-format': { type: 'string', describe: 'set the log format (default text)', choices: ['text', 'json'] },
  debug: { type: 'boolean', describe: 'enable debug logging' },
  'systemd-cgroup': { type: 'boolean', describe: 'make the cgroup a systemd scope (linux.cgroupsPath as slice:prefix:name, default system.slice:tsrun:<id>, user.slice for a rootless container)' },
  rootless: { type: 'string', describe: 'ignore cgroup permission errors: true, false or auto (default: auto, on when not root or in a user namespace)' },
};
