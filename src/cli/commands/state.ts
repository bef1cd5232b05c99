import { print } from '../output';
import type { CommandSpec } from '../command';

export const stateCommand: CommandSpec = {
  name: 'state',
  positional: '<container-id>',
  describe: 'print the state of a container as JSON',
  arity: [1, 1],
  options: {},
  async run(args, globals) {
    const { containerState } = await import('../../lifecycle/list');
    print(JSON.stringify(containerState(globals.root, args._[0]), null, 2) + '\n');
  },
};
