import type { CommandSpec } from '../command';

export const startCommand: CommandSpec = {
  name: 'start',
  positional: '<container-id>',
  describe: 'run the user process of a created container',
  arity: [1, 1],
  options: {},
  async run(args, globals) {
    const { startContainer } = await import('../../lifecycle/start');
    await startContainer(globals.root, args._[0]);
  },
};
