// The two files a container on a CNI network needs to find names: its
// /etc/hosts (localhost and its own addresses) and its /etc/resolv.conf (the
// host's, minus resolvers that only the host itself can reach). Building the
// text is pure; etc-install.ts puts the files in place at hook time.
import { BlockList, isIP } from 'node:net';
import { UserError } from '../errors';
import type { CniResult } from './types';

export { installEtcFiles, type InstallOptions } from './etc-install';

/** How many characters of the container id podman-style tools show (and resolve) as its short name. */
const SHORT_ID_LENGTH = 12;

/**
 * /etc/hosts for a container: the localhost lines, then each of its own
 * addresses (the CNI result's ips on container-side interfaces, without the
 * prefix length) with its hostname, and the id's first 12 characters as an
 * alias when they differ from it.
 */
export function hostsFile(hostname: string, containerId: string, result: CniResult): string {
  const names = [...new Set([hostname, containerId.slice(0, SHORT_ID_LENGTH)].filter((n) => n !== ''))];
  for (const name of names) checkHostName(name);
  const lines = ['127.0.0.1\tlocalhost localhost.localdomain', '::1\tlocalhost localhost.localdomain ip6-localhost ip6-loopback'];
  if (names.length > 0) {
    for (const address of containerAddresses(result)) lines.push(`${address}\t${names.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

/** A name with a blank, a '#' or a control character would split or end its hosts line. */
function checkHostName(name: string): void {
  if (/[\s#\x00-\x1f\x7f]/.test(name)) throw new UserError(`/etc/hosts: the name ${JSON.stringify(name)} holds a blank, '#' or control character`);
}

/**
 * The result's addresses that belong to the container. An ip whose
 * `interface` index names an interface outside the sandbox (a bridge, the
 * host end of a veth) is the host's, not the container's.
 */
function containerAddresses(result: CniResult): string[] {
  const interfaces = result.interfaces ?? [];
  const addresses: string[] = [];
  (result.ips ?? []).forEach((ip, i) => {
    const iface = ip.interface === undefined ? undefined : interfaces[ip.interface];
    if (iface !== undefined && !iface.sandbox) return;
    const [address, prefix] = String(ip.address).split('/');
    if (isIP(address) === 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) {
      throw new UserError(`CNI result: ips[${i}].address ${JSON.stringify(ip.address)}: not an address with a prefix length`);
    }
    addresses.push(address);
  });
  return addresses;
}

/**
 * Addresses that mean "this machine": in the container's own network
 * namespace they reach the container, not the host's resolver (a
 * systemd-resolved or dnsmasq stub on 127.0.0.53 / 127.0.1.1). 0.0.0.0 and ::
 * count too: the resolver library sends a query for them to the local host.
 */
const LOCAL_RESOLVERS = new BlockList();
LOCAL_RESOLVERS.addSubnet('127.0.0.0', 8, 'ipv4');
LOCAL_RESOLVERS.addAddress('0.0.0.0', 'ipv4');
LOCAL_RESOLVERS.addAddress('::1', 'ipv6');
LOCAL_RESOLVERS.addAddress('::', 'ipv6');

function isLocalResolver(server: string): boolean {
  const address = server.split('%')[0]; // fe80::1%eth0: the zone is not part of the address
  const family = isIP(address);
  return family !== 0 && LOCAL_RESOLVERS.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** The address of a `nameserver` line, or undefined for any other line. */
function nameserverOf(line: string): string | undefined {
  return /^nameserver[ \t]+(\S+)/.exec(line)?.[1];
}

/**
 * /etc/resolv.conf for a container on a bridge: the host's text with its
 * loopback resolvers dropped. When no nameserver remains, those of the CNI
 * result's `dns` (with its search and options, when the host's text has
 * none); failing that, a comment saying why there is none. Every other line
 * (search, domain, options, sortlist, comments) is kept as it was.
 */
export function resolvConf(hostResolvConf: string, result: CniResult): string {
  const kept: string[] = [];
  const dropped: string[] = [];
  let remaining = 0;
  for (const line of hostResolvConf.split('\n')) {
    const server = nameserverOf(line);
    if (server !== undefined && isLocalResolver(server)) {
      dropped.push(server);
      continue;
    }
    if (server !== undefined) remaining++;
    kept.push(line);
  }
  while (kept.length > 0 && kept[kept.length - 1].trim() === '') kept.pop();
  if (remaining === 0) kept.push(...networkResolverLines(kept, result, dropped));
  return kept.length === 0 ? '' : kept.join('\n') + '\n';
}

/** The lines that stand in for the host's nameservers: the network's, or a comment. */
function networkResolverLines(kept: string[], result: CniResult, dropped: string[]): string[] {
  const dns = result.dns ?? {};
  const servers = dns.nameservers ?? [];
  if (servers.length === 0) {
    const why = dropped.length > 0 ? `the host's (${dropped.join(', ')}) are local addresses, which in the container would be the container itself` : "the host's resolv.conf names none";
    return [`# tsrun: no nameserver: ${why}, and the network's CNI result gives none`];
  }
  servers.forEach((server, i) => {
    if (isIP(server.split('%')[0]) === 0) throw new UserError(`CNI result: dns.nameservers[${i}] ${JSON.stringify(server)}: not an IP address`);
  });
  const has = (keyword: string): boolean => kept.some((line) => new RegExp(`^${keyword}[ \\t]`).test(line));
  const lines = servers.map((server) => `nameserver ${server}`);
  const search = dns.search?.length ? dns.search : dns.domain ? [dns.domain] : [];
  if (search.length > 0 && !has('search') && !has('domain')) lines.push(`search ${search.join(' ')}`);
  if (dns.options?.length && !has('options')) lines.push(`options ${dns.options.join(' ')}`);
  return lines;
}
