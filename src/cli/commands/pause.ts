import type { CommandSpec } from '../command';

export const pauseCommand: CommandSpec = {
  name: 'pause',
  positional: '<container-id>',
  describe: 'suspend every process of the container (cgroup freezer)',
  arity: [1, 1],
  options: {},
  async run(args, globals) {
    const { pauseContainer } = await import('../../lifecycle/cgroup-ops');
    await pauseContainer(globals.root, args._[0]);
  },
};
