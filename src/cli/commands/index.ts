import type { CommandSpec } from '../command';
import type { CliTable } from '../run-cli';
import { createCommand } from './create';
import { startCommand } from './start';
import { stateCommand } from './state';
import { killCommand } from './kill';
import { deleteCommand } from './delete';
import { runCommand } from './run';
import { listCommand } from './list';
import { specCommand } from './spec';
import { pauseCommand } from './pause';
import { resumeCommand } from './resume';
import { psCommand } from './ps';
import { eventsCommand } from './events';
import { updateCommand } from './update';
import { execCommand } from './exec';
import { featuresCommand } from './features';
import { bundleCommand } from './bundle';
import { networkCommand } from './network';
import { exitNowIfIdle } from '../../linux/exit';

export const COMMANDS: CommandSpec[] = [
  createCommand,
  startCommand,
  stateCommand,
  killCommand,
  deleteCommand,
  runCommand,
  listCommand,
  specCommand,
  pauseCommand,
  resumeCommand,
  psCommand,
  eventsCommand,
  updateCommand,
  execCommand,
  featuresCommand,
  bundleCommand,
  networkCommand,
];

/** Every verb, with the help text (full yargs, loaded only when asked for). */
export const FULL_CLI: CliTable = {
  commands: COMMANDS,
  async printHelp(topic) {
    const { printHelp } = await import('../help');
    printHelp(COMMANDS, topic);
  },
  finish: exitNowIfIdle,
};
