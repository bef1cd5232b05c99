// The network a container gets with `--network bridge` and no configuration
// of the user's: "tsrun", a bridge "tsrun0" the containers' veths hang on,
// with the gateway address, outbound masquerading and hairpin traffic;
// host-local addresses from a private /24 chosen to collide with nothing
// this host already routes; port publishing (portmap) and forwarding rules
// (firewall). The configuration is chosen once and kept in the state dir,
// so every container (and every later DEL) sees the same subnet.
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors';
import type { NetworkConfigList } from '../types';
import { parseNetworkConfig } from './config';
import { readUsedPrefixes } from './host-routes';
import { chooseSubnet, firstHost } from './subnet';

export const DEFAULT_NETWORK_NAME = 'tsrun';
export const DEFAULT_BRIDGE = 'tsrun0';

export function defaultNetworkList(subnet: string, ipamDir: string): NetworkConfigList {
  return {
    cniVersion: '1.0.0',
    name: DEFAULT_NETWORK_NAME,
    plugins: [
      {
        type: 'bridge',
        bridge: DEFAULT_BRIDGE,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: ipamDir,
          ranges: [[{ subnet, gateway: firstHost(subnet) }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
    ],
  };
}

/**
 * The subnet for a new default configuration. The bridge's own prefix does
 * not count as taken: if the saved configuration was lost while tsrun0
 * lived on, the same subnet is chosen again.
 */
function freshSubnet(): string {
  return chooseSubnet(readUsedPrefixes().filter((u) => u.dev !== DEFAULT_BRIDGE).map((u) => u.prefix));
}

/** Saves `text` as `file` unless it exists: link(2) of a complete temp file, so concurrent first uses agree on one. */
function saveOnce(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o644 });
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`default network: saving ${file}: ${(err as Error).message}`);
  } finally {
    rmSync(temp, { force: true });
  }
}

function readIfThere(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`default network: reading ${file}: ${(err as Error).message}`);
  }
}

export function defaultNetwork(stateDir: string): { list: NetworkConfigList; file: string } {
  const file = join(stateDir, 'default.conflist');
  let text = readIfThere(file);
  if (text === null) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    saveOnce(file, `${JSON.stringify(defaultNetworkList(freshSubnet(), join(stateDir, 'ipam')), null, 2)}\n`);
    text = readIfThere(file)!;
  }
  return { list: parseNetworkConfig(text, file), file };
}
