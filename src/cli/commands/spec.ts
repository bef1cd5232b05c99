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
    network: { type: 'string', describe: 'hooks that put the container on a CNI network: bridge (tsrun0), a .conflist file, or a network name in /etc/cni/net.d' },
    publish: { type: 'string', alias: 'p', multiple: true, describe: 'with --network: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]' },
  },
  async run(args) {
    const { writeDefaultSpec } = await import('../../spec/write-default');
    const { networkAmendment } = await import('../network-hooks');
    const amend = await networkAmendment('spec', args.network as string | undefined, (args.publish as string[] | undefined) ?? [], Boolean(args.rootless));
    writeDefaultSpec(args.bundle as string, Boolean(args.rootless), amend);
  },
};
