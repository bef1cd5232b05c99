import type { CommandSpec } from '../command';

export const deleteCommand: CommandSpec = {
  name: 'delete',
  positional: '<container-id>',
  describe: 'delete a stopped container and its state',
  arity: [1, 1],
  options: {
    force: { type: 'boolean', alias: 'f', describe: 'kill the container first if it is running; a missing id is not an error' },
  },
  async run(args, globals) {
    const { deleteContainer } = await import('../../lifecycle/delete');
    await deleteContainer(globals.root, args._[0], Boolean(args.force));
  },
};
