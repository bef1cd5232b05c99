// `--publish [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp]`, podman's and
// docker's spelling of a port mapping, as the portmap plugin takes it.
import { isIPv4 } from 'node:net';
import { UserError } from '../errors';
import type { PortMapping } from './types';

function port(text: string, what: string, spec: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new UserError(`--publish ${spec}: ${what} "${text}" is not a port (1-65535)`);
  return n;
}

export function parsePublish(spec: string): PortMapping {
  const [ports, protocol = 'tcp', ...extra] = spec.split('/');
  if (extra.length > 0 || (protocol !== 'tcp' && protocol !== 'udp')) throw new UserError(`--publish ${spec}: the protocol must be tcp or udp`);
  const parts = ports.split(':');
  if (parts.length < 2 || parts.length > 3) throw new UserError(`--publish ${spec}: expected [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp]`);
  const [hostIP, hostPort, containerPort] = parts.length === 3 ? [parts[0], parts[1], parts[2]] : [undefined, parts[0], parts[1]];
  if (hostIP !== undefined && !isIPv4(hostIP)) throw new UserError(`--publish ${spec}: "${hostIP}" is not an IPv4 address`);
  const mapping: PortMapping = { hostPort: port(hostPort, 'host port', spec), containerPort: port(containerPort, 'container port', spec), protocol };
  if (hostIP !== undefined) mapping.hostIP = hostIP;
  return mapping;
}

/** The flags that give `mapping` back (what `tsrun spec --network` writes into the hooks). */
export function publishFlag(mapping: PortMapping): string {
  return `${mapping.hostIP === undefined ? '' : `${mapping.hostIP}:`}${mapping.hostPort}:${mapping.containerPort}/${mapping.protocol}`;
}
