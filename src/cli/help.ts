// Help text, rendered by full yargs from the same command descriptions the
// fast parser uses. Loaded only when help is asked for.
import { print } from './output';
import yargs from 'yargs/yargs';
import { GLOBAL_OPTIONS, type CommandSpec } from './command';

export function printHelp(commands: CommandSpec[], verb?: string): void {
  const y = yargs([]).scriptName('tsrun').usage('tsrun [global options] <command> [options] <args>').options(GLOBAL_OPTIONS).version(false).help(false).wrap(100);
  const command = commands.find((c) => c.name === verb);
  if (command) {
    y.usage(`tsrun ${command.name} [options] ${command.positional}\n\n${command.describe}`).options(command.options);
  } else {
    for (const c of commands) y.command(`${c.name} ${c.positional}`.trim(), c.describe);
  }
  y.showHelp((text) => print(text + '\n'));
}
