// tsrun's command line: parse, dispatch to one verb, print errors, set the exit status.
// Started by main.ts (the plain build and the bundle), snapshot-main.ts (the
// startup snapshots) or main-read.ts (state and list alone), each with its table of verbs.
import { print } from './output';
import { splitGlobal, parseCommandArgs } from './parse';
import type { CommandSpec, GlobalOptions, ParsedArgs } from './command';
import { configureLogger, logDebug, logError } from '../log/logger';
import { UserError } from '../errors';
import { writeStderr } from '../log/write-fd';
import { checkStateRoot } from '../lifecycle/store';
import { defaultStateRoot, parseRootlessFlag, prepareUserStateRoot, SYSTEM_STATE_ROOT } from '../lifecycle/rootless';

const VERSION = '0.1.0';
const SPEC_VERSION = '1.3.0';

/** The verbs an entry point holds, and how it prints help (the help text loads full yargs). */
export interface CliTable {
  commands: CommandSpec[];
  printHelp(topic: string | undefined): void | Promise<void>;
  /** Called with the exit status once the command is over; may end the process there and then. */
  finish?(code: number): void;
}

function wantsHelp(globals: ParsedArgs, verb: string | undefined, rest: string[], command: CommandSpec | undefined): boolean {
  return !verb || Boolean(globals.help) || verb === 'help' || (command !== undefined && (rest.includes('--help') || rest.includes('-h')));
}

/**
 * The verb `argv` runs when it is one of `commands` and neither help nor the
 * version is asked for; undefined otherwise, and for a command line that does
 * not parse (the full CLI reports that).
 */
export function plainCommandOf(argv: string[], commands: CommandSpec[]): CommandSpec | undefined {
  try {
    const { globals, verb, rest } = splitGlobal(argv);
    const command = commands.find((c) => c.name === verb);
    return globals.version || wantsHelp(globals, verb, rest, command) ? undefined : command;
  } catch {
    return undefined;
  }
}

async function main(argv: string[], table: CliTable): Promise<number> {
  const { globals, verb, rest } = splitGlobal(argv);
  if (globals.version) {
    print(`tsrun version ${VERSION}\nspec: ${SPEC_VERSION}\n`);
    return 0;
  }
  const command = table.commands.find((c) => c.name === verb);
  if (wantsHelp(globals, verb, rest, command)) {
    await table.printHelp(verb === 'help' ? rest[0] : verb);
    return 0;
  }
  if (!command) {
    // runc's words and status (3) for a verb it does not have.
    logError(`No help topic for '${verb}'`);
    return 3;
  }
  const args = parseCommandArgs(command, rest);
  const merged = { ...globals, ...pick(args, ['root', 'log', 'logFormat', 'debug', 'systemdCgroup', 'rootless']) };
  const options: GlobalOptions = {
    root: (merged.root as string | undefined) ?? defaultStateRoot(),
    log: merged.log as string | undefined,
    logFormat: merged.logFormat === 'json' ? 'json' : 'text',
    debug: Boolean(merged.debug),
    systemdCgroup: Boolean(merged.systemdCgroup),
    // Parsed here so a bad value fails every verb at once, as runc's does.
    rootless: parseRootlessFlag(merged.rootless as string | boolean | undefined),
  };
  // A per-user state root is checked at once, for every verb that keeps state.
  if (merged.root === undefined && options.root !== SYSTEM_STATE_ROOT && command.usesState !== false) prepareUserStateRoot(options.root);
  // A state root that cannot be one (a regular file) fails every verb alike, list included.
  if (command.usesState !== false) checkStateRoot(options.root);
  configureLogger({ file: options.log, format: options.logFormat, debug: options.debug });
  logDebug(`${verb} ${args._.join(' ')}`);
  const code = await command.run(args, options);
  return typeof code === 'number' ? code : 0;
}

function pick(args: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (args[k] !== undefined) out[k] = args[k];
  return out;
}

/** Runs one tsrun command; `argv` is what follows the program's name. */
export function runCli(argv: string[], table: CliTable): void {
  main(argv, table).then(
    (code) => {
      process.exitCode = code;
      table.finish?.(code);
    },
    (err: unknown) => {
      logError(err instanceof Error ? err.message : String(err));
      if (!(err instanceof UserError) && process.env.TSRUN_DEBUG_STACK) writeStderr(`${(err as Error).stack}\n`);
      process.exitCode = 1;
      table.finish?.(1);
    },
  );
}
