import type { CommandSpec } from '../command';

export const networkCommand: CommandSpec = {
  name: 'network',
  usesState: false,
  positional: 'add|del',
  describe: 'join a container to a CNI network (add) or take it off (del); run by the hooks tsrun spec --network writes, with the container state on stdin',
  arity: [1, 1],
  options: {
    network: { type: 'string', describe: 'bridge (tsrun\'s default network tsrun0), a .conflist file, or a network name in --cni-config-dir', default: 'bridge' },
    publish: { type: 'string', alias: 'p', multiple: true, describe: 'add: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp], through the portmap plugin' },
    'cni-config-dir': { type: 'string', describe: 'where network names are looked up', default: '/etc/cni/net.d' },
  },
  async run(args) {
    const { runNetworkHook } = await import('../network-run');
    return runNetworkHook(args._[0], {
      network: args.network as string,
      publish: (args.publish as string[] | undefined) ?? [],
      configDir: args.cniConfigDir as string,
    });
  },
};
