import type { CommandSpec, GlobalOptions, ParsedArgs } from '../command';
import type { CreateOptions } from '../../lifecycle/create';

export const createCommand: CommandSpec = {
  name: 'create',
  positional: '<container-id>',
  describe: 'create a container from a bundle; its process waits for `start`',
  arity: [1, 1],
  options: {
    bundle: { type: 'string', alias: 'b', describe: 'path to the root of the bundle directory', default: '.' },
    'pid-file': { type: 'string', describe: 'file to write the container init pid to' },
    'console-socket': { type: 'string', describe: 'unix socket to receive the pty master of a terminal container' },
    'no-pivot': { type: 'boolean', describe: 'use chroot instead of pivot_root' },
    'no-new-keyring': { type: 'boolean', describe: 'accepted for compatibility: do not create a session keyring' },
    'preserve-fds': { type: 'number', describe: 'pass N additional file descriptors (3..3+N-1) to the container', default: 0 },
  },
  async run(args, globals) {
    const { createContainer } = await import('../../lifecycle/create');
    await createContainer(createOptionsFrom(args, globals));
  },
};

/** The create options shared by `create` and `run`. */
export function createOptionsFrom(args: ParsedArgs, globals: GlobalOptions): CreateOptions {
  return {
    root: globals.root,
    id: args._[0],
    bundle: args.bundle as string,
    pidFile: args.pidFile as string | undefined,
    noPivot: Boolean(args.noPivot),
    preserveFds: args.preserveFds as number,
    consoleSocket: args.consoleSocket as string | undefined,
    systemdCgroup: globals.systemdCgroup,
    rootless: globals.rootless,
  };
}
