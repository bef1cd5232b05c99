// Argument parsing with yargs-parser, configured the way runc's callers
// write flags: `--flag v`, `--flag=v`, and single-dash long flags (`-no-subreaper`).
import parser from 'yargs-parser';
import { UserError } from '../errors';
import { GLOBAL_OPTIONS, type CommandSpec, type OptionSpec, type ParsedArgs } from './command';

const CONFIGURATION = {
  'short-option-groups': false,
  'boolean-negation': false,
  'camel-case-expansion': true,
  'dot-notation': false,
  'parse-numbers': false,
  'parse-positional-numbers': false,
  // Repeats become arrays; checkOptions keeps the last value but for `multiple` options.
  'duplicate-arguments-array': true,
  // An array option takes one value per flag, so `-e A=1 ID` leaves ID positional.
  'greedy-arrays': false,
  'strip-aliased': false,
};

function parserOptions(specs: Record<string, OptionSpec>, halt: boolean): parser.Options {
  const opts: parser.Options & { string: string[]; boolean: string[]; number: string[]; array: string[]; alias: Record<string, string[]> } = {
    array: [],
    string: [],
    boolean: [],
    number: [],
    alias: {},
    configuration: { ...CONFIGURATION, 'halt-at-non-option': halt },
  };
  for (const [name, spec] of Object.entries(specs)) {
    (spec.type === 'number' ? opts.string : opts[spec.type]).push(name);
    if (spec.multiple) opts.array.push(name);
    if (spec.alias) opts.alias[name] = [spec.alias];
  }
  return opts;
}

/** Splits argv into global options, the verb and the verb's own arguments. */
export function splitGlobal(argv: string[]): { globals: ParsedArgs; verb?: string; rest: string[] } {
  const specs = { ...GLOBAL_OPTIONS, help: helpSpec, version: versionSpec };
  const parsed = parser(argv, parserOptions(specs, true)) as ParsedArgs;
  checkOptions(parsed, specs);
  const [verb, ...rest] = parsed._.map(String);
  return { globals: parsed, verb, rest };
}

const helpSpec: OptionSpec = { type: 'boolean', describe: 'show help', alias: 'h' };
const versionSpec: OptionSpec = { type: 'boolean', describe: 'print the version', alias: 'v' };

/** Parses a verb's arguments, refusing unknown flags and a wrong number of positionals. */
export function parseCommandArgs(command: CommandSpec, argv: string[]): ParsedArgs {
  const specs = { ...GLOBAL_OPTIONS, ...command.options, help: helpSpec };
  const head = command.haltAfterPositionals === undefined ? { options: argv, trailing: [] } : splitAtCommandLine(argv, command, specs);
  const parsed = parser(joinDashValues(head.options, specs), parserOptions(specs, false)) as ParsedArgs;
  checkOptions(parsed, specs);
  parsed._ = [...parsed._.map(String), ...head.trailing];
  const [min, max] = command.arity;
  const count = parsed._.length;
  if (count < min || (max >= 0 && count > max)) {
    const want = min === max ? `exactly ${min}` : max < 0 ? `at least ${min}` : `${min} to ${max}`;
    throw new UserError(`"${command.name}" requires ${want} argument(s)`);
  }
  return parsed;
}

/** Refuses unknown flags and bad values; converts numbers and fills in defaults, in place. */
function checkOptions(parsed: ParsedArgs, specs: Record<string, OptionSpec>): void {
  keepLastOfRepeats(parsed, specs);
  const known = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) {
    known.add(name);
    known.add(camel(name));
    if (spec.alias) known.add(spec.alias);
  }
  for (const key of Object.keys(parsed)) {
    if (key !== '_' && !known.has(key)) throw new UserError(`flag provided but not defined: -${key}`);
  }
  for (const [name, spec] of Object.entries(specs)) {
    const value = parsed[camel(name)];
    if (spec.type === 'number' && value !== undefined) {
      if (!/^\d+$/.test(String(value))) throw new UserError(`invalid value "${value}" for flag -${name}: must be a non-negative integer`);
      parsed[camel(name)] = Number(value);
    }
    if (spec.choices && value !== undefined && !spec.choices.includes(String(value))) {
      throw new UserError(`invalid value "${value}" for flag -${name}: must be one of ${spec.choices.join(', ')}`);
    }
    if (value === undefined && spec.default !== undefined) parsed[camel(name)] = spec.default;
  }
}

/** A flag given twice keeps its last value (as runc's flag package), unless it is `multiple`. */
function keepLastOfRepeats(parsed: ParsedArgs, specs: Record<string, OptionSpec>): void {
  const multiple = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.multiple) [name, camel(name), spec.alias].forEach((k) => k && multiple.add(k));
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (key !== '_' && Array.isArray(value) && !multiple.has(key)) parsed[key] = value[value.length - 1];
  }
}

/** For exec: options end at the first positional after the container id. */
function splitAtCommandLine(argv: string[], command: CommandSpec, specs: Record<string, OptionSpec>): { options: string[]; trailing: string[] } {
  let positionals = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return { options: argv.slice(0, i), trailing: argv.slice(i + 1) };
    if (arg.startsWith('-') && arg !== '-') {
      const name = arg.replace(/^--?/, '').split('=')[0];
      const spec = specs[name] ?? Object.values(specs).find((s) => s.alias === name);
      if (spec && spec.type !== 'boolean' && !arg.includes('=')) i++;
      continue;
    }
    positionals++;
    if (positionals > (command.haltAfterPositionals ?? 0)) return { options: argv.slice(0, i), trailing: argv.slice(i) };
  }
  return { options: argv, trailing: [] };
}

/** yargs-parser will not take a lone "-" (stdin) as a flag's value: write it as --flag=-. */
function joinDashValues(argv: string[], specs: Record<string, OptionSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--?([^=]+)$/.exec(argv[i])?.[1];
    const spec = name === undefined ? undefined : (specs[name] ?? Object.values(specs).find((s) => s.alias === name));
    if (spec && spec.type !== 'boolean' && argv[i + 1] === '-') {
      out.push(`--${name}=-`);
      i++;
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
