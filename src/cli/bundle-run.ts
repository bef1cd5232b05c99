// The CLI side of `tsrun bundle`: decides whose files the rootfs holds,
// runs the unpacking (inside a user namespace when an unprivileged user's
// rootless bundle needs its subordinate ids), draws progress on a terminal,
// prints the notes, and removes what was written when a signal ends it.
import { constants } from 'node:os';
import { isatty } from 'node:tty';
import { UserError } from '../errors';
import { BundleUnpack } from '../image/unpack-bundle';
import { ownersInsideNamespace, ownersThrough, rootlessIds, type RootlessIds } from '../image/rootless-ids';
import type { OwnerMapping } from '../image/types';
import { ownerName } from '../lifecycle/rootless';
import { writeStderr } from '../log/write-fd';
import { LayerProgressBar } from './progress-bar';
import { networkAmendment } from './network-hooks';

export interface BundleFlags {
  from?: string;
  ref?: string;
  rootless: boolean;
  quiet: boolean;
  network?: string;
  publish: string[];
}

const SIGNAL_STATUS: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
const osSignals = constants.signals as Record<string, number>;

/** Set for the copy of `tsrun bundle` that runs inside the user namespace: the ids it maps, as JSON. */
const IN_USERNS = 'TSRUN_BUNDLE_USERNS';

interface OwnerPlan {
  owners: OwnerMapping;
  ids?: RootlessIds;
  /** Unpack from inside a user namespace mapping these ids (an unprivileged user with subordinate ids). */
  userns?: RootlessIds;
}

function planOwners(rootless: boolean, env: NodeJS.ProcessEnv): OwnerPlan {
  const uid = process.geteuid?.() ?? 0;
  const inside = env[IN_USERNS];
  if (inside !== undefined) {
    const ids = JSON.parse(inside) as RootlessIds;
    return { owners: ownersInsideNamespace(ids), ids };
  }
  // Without --rootless, root keeps the image's owners; anyone else owns every file, as with tar.
  if (!rootless) return { owners: { map: uid === 0 ? (u, g) => ({ uid: u, gid: g }) : () => null } };
  const name = ownerName() || 'root';
  const ids = rootlessIds(uid, process.getegid?.() ?? 0, name.startsWith('#') ? '' : name);
  if (uid !== 0 && ids.uidMappings.length > 1) return { owners: { map: () => null }, ids, userns: ids };
  return { owners: uid === 0 ? ownersThrough(ids.uidMappings, ids.gidMappings) : { map: () => null }, ids };
}

/**
 * Runs this same command again under `unshare`, as root of a namespace
 * mapping `ids`, and passes on the signals that would end it (so the copy
 * inside removes what it wrote); its exit status.
 */
async function rerunInUserNamespace(ids: RootlessIds): Promise<number> {
  const { spawn } = await import('node:child_process');
  const [sub, subGroup] = [ids.uidMappings[1], ids.gidMappings[1]];
  const args = [
    '--map-root-user',
    `--map-users=${sub.hostID},${sub.containerID},${sub.size}`,
    `--map-groups=${subGroup.hostID},${subGroup.containerID},${subGroup.size}`,
    '--',
    process.execPath,
    ...process.execArgv,
    ...process.argv.slice(1),
  ];
  const child = spawn('unshare', args, { stdio: 'inherit', env: { ...process.env, [IN_USERNS]: JSON.stringify(ids) } });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  const signals = Object.keys(SIGNAL_STATUS) as NodeJS.Signals[];
  for (const signal of signals) process.on(signal, forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on('error', (err: NodeJS.ErrnoException) => reject(new UserError(`unshare (util-linux), to set the subordinate owners of a rootless bundle: ${err.code ?? err.message}`)));
      child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === null ? 15 : osSignals[signal])));
    });
  } finally {
    for (const signal of signals) process.removeListener(signal, forward);
  }
}


export async function runBundle(dir: string, flags: BundleFlags): Promise<number> {
  if (flags.from === undefined || flags.from === '') {
    throw new UserError('bundle: --from is required: a docker-archive or oci-archive file, an OCI image layout directory, a rootfs tarball, or - for standard input');
  }
  const amendConfig = await networkAmendment('bundle', flags.network, flags.publish, flags.rootless);
  const plan = planOwners(flags.rootless, process.env);
  if (plan.userns !== undefined) return rerunInUserNamespace(plan.userns);
  const bar = !flags.quiet && isatty(2) ? new LayerProgressBar() : null;
  const job = new BundleUnpack(dir, {
    from: flags.from,
    ref: flags.ref,
    rootless: flags.rootless,
    owners: plan.owners,
    ids: plan.ids,
    amendConfig,
    onProgress: bar === null ? undefined : (p) => bar.update(p),
  });
  const handlers = Object.entries(SIGNAL_STATUS).map(([signal, status]) => {
    const handler = (): void => {
      job.discard();
      process.exit(status);
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  try {
    const result = await job.run();
    if (!flags.quiet) for (const note of result.notes) writeStderr(`tsrun bundle: ${note}\n`);
  } finally {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  }
  return 0;
}
