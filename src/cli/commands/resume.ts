import type { CommandSpec } from '../command';

export const resumeCommand: CommandSpec = {
  name: 'resume',
  positional: '<container-id>',
  describe: 'resume every process of a paused container',
  arity: [1, 1],
  options: {},
  async run(args, globals) {
    const { resumeContainer } = await import('../../lifecycle/cgroup-ops');
    await resumeContainer(globals.root, args._[0]);
  },
};
