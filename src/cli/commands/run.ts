import type { CommandSpec } from '../command';
import { createCommand, createOptionsFrom } from './create';

export const runCommand: CommandSpec = {
  name: 'run',
  positional: '<container-id>',
  describe: 'create and start a container; in the foreground, wait for it and exit with its code',
  arity: [1, 1],
  options: {
    ...createCommand.options,
    detach: { type: 'boolean', alias: 'd', describe: 'detach from the container process' },
    'no-subreaper': { type: 'boolean', describe: 'accepted for compatibility' },
    'keep': { type: 'boolean', describe: 'do not delete the container after it exits' },
  },
  async run(args, globals) {
    const { runContainer } = await import('../../lifecycle/run');
    return runContainer({
      ...createOptionsFrom(args, globals),
      detach: Boolean(args.detach),
      keep: Boolean(args.keep),
    });
  },
};
