import type { CommandSpec } from '../command';

export const killCommand: CommandSpec = {
  name: 'kill',
  positional: '<container-id> [signal]',
  describe: 'send a signal (default SIGTERM) to the container init',
  arity: [1, 2],
  options: {
    all: { type: 'boolean', alias: 'a', describe: 'send the signal to every process of the container' },
  },
  async run(args, globals) {
    const { parseSignal } = await import('../../lifecycle/signals');
    const { killContainer } = await import('../../lifecycle/kill');
    await killContainer(globals.root, args._[0], parseSignal(args._[1] ?? 'SIGTERM'), Boolean(args.all));
  },
};
