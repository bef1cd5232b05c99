import type { CommandSpec } from '../command';

export const specCommand: CommandSpec = {
  name: 'spec',
  usesState: false,
  positional: '',
  describe: 'write a default config.json (the one runc spec writes) into the bundle directory',
  arity: [0, 0],
  options: {
    bundle: { type: 'string', alias: 'b', describe: 'directory to write config.json into', default: '.' },
    rootless: { type: 'boolean', describe: 'a config for running without root' },
  },
  async run(args) {
    const { writeDefaultSpec } = await import('../../spec/write-default');
    writeDefaultSpec(args.bundle as string, Boolean(args.rootless));
  },
};
