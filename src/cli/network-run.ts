// The CLI side of `tsrun network add|del`: the hook's state from stdin,
// warnings of a DEL to stderr (a poststop hook's failures are warnings).
import { readFileSync } from 'node:fs';
import { UserError } from '../errors';
import { attachNetwork, detachNetwork, parseHookState } from '../network/attach';
import { parsePublish } from '../network/publish';
import { networkStateDir } from '../network/state-dir';
import { writeStderr } from '../log/write-fd';

export interface NetworkFlags {
  network: string;
  publish: string[];
  configDir: string;
}

/** Hooks run with their config's environment alone; the plugins look iptables up on PATH. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function runNetworkHook(action: string, flags: NetworkFlags): number {
  process.env.PATH ||= DEFAULT_PATH;
  if (action !== 'add' && action !== 'del') throw new UserError(`network: unknown action "${action}": add or del`);
  const publish = flags.publish.map(parsePublish);
  const state = parseHookState(readFileSync(0, 'utf8'));
  const stateDir = networkStateDir();
  if (action === 'add') {
    attachNetwork(state, { network: flags.network, publish, configDirs: [flags.configDir], stateDir });
    return 0;
  }
  const failures = detachNetwork(state, stateDir);
  for (const failure of failures) writeStderr(`tsrun: ${failure}\n`);
  return failures.length === 0 ? 0 : 1;
}
