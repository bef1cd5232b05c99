import { UserError } from '../../errors';
import type { Spec } from '../../spec/types';
import type { CommandSpec } from '../command';

/** The network hooks for `spec --network`, calling this installation's launcher. */
async function networkAmendment(network: string | undefined, publish: string[], rootless: boolean): Promise<(spec: Spec) => void> {
  if (network === undefined) throw new UserError('spec: --publish goes with --network');
  if (rootless) throw new UserError('spec: --network needs root (a CNI bridge); a rootless container keeps to its loopback');
  const [{ networkHooks }, { parsePublish }, { launcherPath }] = await Promise.all([import('../../network/hooks-config'), import('../../network/publish'), import('../launcher-path')]);
  const hooks = networkHooks(launcherPath(), network, publish.map(parsePublish));
  return (spec) => {
    spec.hooks = { ...spec.hooks, createRuntime: hooks.createRuntime, poststop: hooks.poststop };
  };
}

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
    const amend = args.network === undefined && args.publish === undefined ? undefined : await networkAmendment(args.network as string | undefined, (args.publish as string[] | undefined) ?? [], Boolean(args.rootless));
    writeDefaultSpec(args.bundle as string, Boolean(args.rootless), amend);
  },
};
