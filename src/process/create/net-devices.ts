// linux.netDevices (config-linux.md "Network Devices"): host interfaces
// moved into the container's new network namespace. Three parts, at three
// points of create:
//  1. before anything is made, the runtime checks each named interface
//     exists in its own network namespace (checkHostNetDevices);
//  2. once stage 1 has unshared the network namespace, and before the init
//     exists, the runtime reads each link's addresses and moves it there,
//     renamed, with one RTM_NEWLINK (moveNetDevices): the kernel checks the
//     new name inside the target namespace, so a clash fails the move itself;
//  3. stage 1, inside the namespace, puts the kept addresses back (the
//     kernel drops every address of a link that changes namespace) and sets
//     the link up, as the spec requires (configureMovedDevices).
// Done from the parent because only it holds CAP_NET_ADMIN over the host's
// namespace (stage 1 may already be root of a new user namespace); done
// before the init forks, so createRuntime hooks and the process see them.
//
// Nothing is done at delete: the spec says the runtime MUST NOT move the
// interfaces out. When the namespace's last process dies the kernel moves
// physical devices back to the initial namespace and destroys virtual ones
// (veth, macvlan...). The same holds when create fails after a move.
import type { Spec } from '../../spec/types';
import type { ContainerPlan } from '../plan/container-plan';
import { configError } from '../../errors';
import { pointer } from '../../spec/check-util';
import { withRouteSocket, type RouteSocket } from '../../linux/netlink';
import { addressesToKeep, type LinkInfo, type NetAddress } from '../../linux/netlink-message';
import { closeFd, openFd, O_CLOEXEC, O_RDONLY } from '../../linux/fd';
import type { MovedNetDevice } from '../channel/sync';

interface WantedDevice {
  hostName: string;
  name: string;
}

/** linux.netDevices as (host name, container name) pairs, in config order. */
export function wantedNetDevices(spec: Spec): WantedDevice[] {
  return Object.entries(spec.linux?.netDevices ?? {}).map(([hostName, dev]) => ({ hostName, name: dev.name ?? hostName }));
}

/**
 * Before anything is made: every interface must exist in the runtime's
 * network namespace ("The runtime MUST check if moving the network
 * interface to the container namespace is possible"), and moving needs the
 * host's CAP_NET_ADMIN, which a rootless runtime lacks (runc refuses too).
 */
export function checkHostNetDevices(spec: Spec, rootless: boolean): void {
  const wanted = wantedNetDevices(spec);
  if (wanted.length === 0) return;
  if (rootless) throw configError('/linux/netDevices', 'moving network interfaces is not supported for a rootless container');
  withRouteSocket((sock) => {
    for (const dev of wanted) {
      if (!sock.findLink(dev.hostName)) throw configError(pointer('linux', 'netDevices', dev.hostName), 'no such network interface on the host');
    }
  });
}

/** Step 2 (in the runtime): moves every interface into the network namespace of `stage1Pid`. */
export function moveNetDevices(plan: ContainerPlan, stage1Pid: number): MovedNetDevice[] {
  const nsFd = openFd(`/proc/${stage1Pid}/ns/net`, O_RDONLY | O_CLOEXEC);
  try {
    return withRouteSocket((sock) => {
      const addresses = sock.listAddresses();
      return wantedNetDevices(plan.spec).map((dev) => moveOne(sock, dev, addresses, nsFd));
    });
  } finally {
    closeFd(nsFd);
  }
}

function moveOne(sock: RouteSocket, dev: WantedDevice, all: NetAddress[], nsFd: number): MovedNetDevice {
  const link = sock.findLink(dev.hostName);
  // Checked before the fork; gone since.
  if (!link) throw configError(pointer('linux', 'netDevices', dev.hostName), 'no such network interface on the host');
  // Read first: the move itself drops them.
  const addresses = addressesToKeep(all, link.index);
  sock.moveLink(link, dev.name, nsFd);
  return { hostName: dev.hostName, name: dev.name, index: link.index, hwAddress: link.hwAddress, addresses };
}

/** Step 3 (in stage 1, inside the new namespace): addresses back, link up. */
export function configureMovedDevices(devices: MovedNetDevice[]): void {
  withRouteSocket((sock) => {
    const links = sock.listLinks();
    const claimed = new Set<number>();
    for (const dev of devices) {
      const link = findMovedLink(links, dev, claimed);
      claimed.add(link.index);
      for (const addr of dev.addresses) sock.addAddress(link.index, link.name, addr);
      sock.setLinkUp(link.index, link.name);
    }
  });
}

/**
 * The moved link among this namespace's links: by its name, or for a `%d`
 * template (the kernel picked the number) by its hardware address, then
 * its old index (kept unless taken here), among names the template allows.
 */
export function findMovedLink(links: LinkInfo[], dev: MovedNetDevice, claimed: Set<number>): LinkInfo {
  const free = links.filter((l) => !claimed.has(l.index));
  if (!dev.name.includes('%d')) {
    const byName = free.find((l) => l.name === dev.name);
    if (byName) return byName;
  } else {
    const [prefix, suffix] = dev.name.split('%d') as [string, string];
    const fits = free.filter((l) => l.name.startsWith(prefix) && l.name.endsWith(suffix) && /^\d+$/.test(l.name.slice(prefix.length, l.name.length - suffix.length)));
    const found = fits.find((l) => l.hwAddress === dev.hwAddress && l.index === dev.index) ?? fits.find((l) => l.hwAddress === dev.hwAddress);
    if (found) return found;
  }
  throw new Error(`network interface ${dev.hostName} (as ${dev.name}) is not in the container's network namespace after its move`);
}
