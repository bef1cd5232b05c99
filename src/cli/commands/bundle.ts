import type { CommandSpec } from '../command';

export const bundleCommand: CommandSpec = {
  name: 'bundle',
  usesState: false,
  positional: '<directory>',
  describe: 'write a bundle (rootfs/ and config.json) from an image archive, an OCI image layout or a rootfs tarball',
  arity: [1, 1],
  options: {
    from: {
      type: 'string',
      describe: 'a docker-archive or oci-archive file, an OCI image layout directory, a rootfs .tar or .tar.gz, or - for standard input',
    },
    ref: { type: 'string', describe: 'which image, when the source holds several: a tag (docker-archive) or a ref name (OCI)' },
    rootless: { type: 'boolean', describe: "a config for running without root (as spec --rootless), owners shifted into the user's id mapping" },
    quiet: { type: 'boolean', alias: 'q', describe: 'no progress bar on a terminal, no notes' },
    network: { type: 'string', describe: 'hooks that put the container on a CNI network, as spec --network' },
    publish: { type: 'string', alias: 'p', multiple: true, describe: 'with --network: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]' },
  },
  async run(args) {
    const { runBundle } = await import('../bundle-run');
    return runBundle(args._[0], {
      from: args.from as string | undefined,
      ref: args.ref as string | undefined,
      rootless: Boolean(args.rootless),
      quiet: Boolean(args.quiet),
      network: args.network as string | undefined,
      publish: (args.publish as string[] | undefined) ?? [],
    });
  },
};
