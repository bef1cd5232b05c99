import type { CommandSpec } from '../command';
import { createCommand } from './create';
import { startCommand } from './start';
import { stateCommand } from './state';
import { killCommand } from './kill';
import { deleteCommand } from './delete';
import { runCommand } from './run';
import { listCommand } from './list';
import { specCommand } from './spec';

export const COMMANDS: CommandSpec[] = [
  createCommand,
  startCommand,
  stateCommand,
  killCommand,
  deleteCommand,
  runCommand,
  listCommand,
  specCommand,
];
