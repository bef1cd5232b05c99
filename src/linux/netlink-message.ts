// rtnetlink messages as bytes (netlink(7), rtnetlink(7)): building the few
// requests tsrun sends and parsing the answers. Pure: no socket, no libc, so
// it is unit-tested without root. netlink.ts sends and receives them.

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
const NLM_F_CREATE = 0x400;
const NLM_F_EXCL = 0x200;

export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_GETADDR = 22;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_NET_NS_FD = 28;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;

export const IFF_UP = 0x1;
export const IFA_F_PERMANENT = 0x80;
export const RT_SCOPE_UNIVERSE = 0;
/**
 * Address flags a caller may set (the rest, PERMANENT, TENTATIVE, DEPRECATED
 * and so on, are the kernel's state): NODAD, HOMEADDRESS, MANAGETEMPADDR,
 * NOPREFIXROUTE, MCAUTOJOIN.
 */
const SETTABLE_ADDRESS_FLAGS = 0x02 | 0x10 | 0x100 | 0x200 | 0x400;

const NLMSG_HDRLEN = 16;
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const RTA_HDRLEN = 4;

/** Netlink rounds every header, attribute and payload up to 4 bytes. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

export interface Attr {
  type: number;
  data: Buffer;
}

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  /** What follows the 16-byte header. */
  payload: Buffer;
}

/** A link as RTM_NEWLINK describes it. */
export interface LinkInfo {
  index: number;
  flags: number;
  name: string;
  /** The hardware address as hex ("02:ab:..."), "" when the link has none. */
  hwAddress: string;
}

/** An interface address as RTM_NEWADDR describes it; byte arrays so that it crosses the sync pipe as JSON. */
export interface NetAddress {
  family: number;
  prefixLength: number;
  scope: number;
  /** ifa_flags, widened by IFA_FLAGS when the kernel sends it. */
  flags: number;
  index: number;
  local?: number[];
  address?: number[];
  broadcast?: number[];
}

function encodeAttr(a: Attr): Buffer {
  const len = RTA_HDRLEN + a.data.length;
  const buf = Buffer.alloc(align4(len));
  buf.writeUInt16LE(len, 0);
  buf.writeUInt16LE(a.type, 2);
  a.data.copy(buf, RTA_HDRLEN);
  return buf;
}

export function stringAttr(type: number, value: string): Attr {
  return { type, data: Buffer.from(value + '\0', 'latin1') };
}

export function u32Attr(type: number, value: number): Attr {
  const data = Buffer.alloc(4);
  data.writeUInt32LE(value >>> 0, 0);
  return { type, data };
}

/** One request: header, the fixed-size body of its family, then attributes. */
export function buildMessage(type: number, flags: number, seq: number, body: Buffer, attrs: Attr[] = []): Buffer {
  const parts = [Buffer.alloc(NLMSG_HDRLEN), Buffer.concat([body, Buffer.alloc(align4(body.length) - body.length)]), ...attrs.map(encodeAttr)];
  const msg = Buffer.concat(parts);
  msg.writeUInt32LE(msg.length, 0);
  msg.writeUInt16LE(type, 4);
  msg.writeUInt16LE(flags, 6);
  msg.writeUInt32LE(seq >>> 0, 8);
  msg.writeUInt32LE(0, 12);
  return msg;
}

function ifInfoMsg(index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(AF_UNSPEC, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  b.writeUInt32LE(change >>> 0, 12);
  return b;
}

/** RTM_GETLINK of one link by name; the answer is one RTM_NEWLINK or ENODEV. */
export function getLinkRequest(seq: number, name: string): Buffer {
  return buildMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifInfoMsg(0), [stringAttr(IFLA_IFNAME, name)]);
}

/** Every link in the socket's namespace. */
export function dumpLinksRequest(seq: number): Buffer {
  return buildMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, ifInfoMsg(0));
}

/**
 * Moves link `index` into the network namespace open as `nsFd` and names it
 * `newName` there, in one request: the kernel checks the name against the
 * target namespace, so the move and the rename succeed or fail together.
 */
export function moveLinkRequest(seq: number, index: number, newName: string, nsFd: number): Buffer {
  return buildMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifInfoMsg(index), [stringAttr(IFLA_IFNAME, newName), u32Attr(IFLA_NET_NS_FD, nsFd)]);
}

export function setLinkUpRequest(seq: number, index: number): Buffer {
  return buildMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifInfoMsg(index, IFF_UP, IFF_UP), []);
}

/** Every address of every family in the socket's namespace. */
export function dumpAddressesRequest(seq: number): Buffer {
  const body = Buffer.alloc(IFADDRMSG_LEN);
  body.writeUInt8(AF_UNSPEC, 0);
  return buildMessage(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, body);
}

/** Adds `addr` (read from another link) to link `index`: same prefix, scope, peer, broadcast and the flags a caller may set. */
export function newAddressRequest(seq: number, index: number, addr: NetAddress): Buffer {
  const flags = addr.flags & SETTABLE_ADDRESS_FLAGS;
  const body = Buffer.alloc(IFADDRMSG_LEN);
  body.writeUInt8(addr.family, 0);
  body.writeUInt8(addr.prefixLength, 1);
  body.writeUInt8(flags & 0xff, 2);
  body.writeUInt8(addr.scope, 3);
  body.writeUInt32LE(index, 4);
  const attrs: Attr[] = [];
  if (addr.local) attrs.push({ type: IFA_LOCAL, data: Buffer.from(addr.local) });
  if (addr.address) attrs.push({ type: IFA_ADDRESS, data: Buffer.from(addr.address) });
  if (addr.broadcast) attrs.push({ type: IFA_BROADCAST, data: Buffer.from(addr.broadcast) });
  if (flags > 0xff) attrs.push(u32Attr(IFA_FLAGS, flags));
  return buildMessage(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, body, attrs);
}

/** Splits what one recv() returned into messages; a truncated tail is dropped. */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({ type: buf.readUInt16LE(off + 4), flags: buf.readUInt16LE(off + 6), seq: buf.readUInt32LE(off + 8), payload: buf.subarray(off + NLMSG_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** An NLMSG_ERROR's errno: 0 for an acknowledgement, a positive errno for a failure. */
export function errorOfMessage(msg: NetlinkMessage): number {
  const negated = msg.payload.readInt32LE(0);
  return negated === 0 ? 0 : -negated;
}

/** The attributes from `offset` of a payload, by type (the last of a repeated type wins). */
export function parseAttrs(payload: Buffer, offset: number): Map<number, Buffer> {
  const attrs = new Map<number, Buffer>();
  let off = offset;
  while (off + RTA_HDRLEN <= payload.length) {
    const len = payload.readUInt16LE(off);
    if (len < RTA_HDRLEN || off + len > payload.length) break;
    // The top two bits are NLA_F_NESTED and NLA_F_NET_BYTEORDER, not part of the type.
    attrs.set(payload.readUInt16LE(off + 2) & 0x3fff, payload.subarray(off + RTA_HDRLEN, off + len));
    off += align4(len);
  }
  return attrs;
}

function cString(b: Buffer | undefined): string {
  if (!b) return '';
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
}

export function parseLink(payload: Buffer): LinkInfo {
  const attrs = parseAttrs(payload, IFINFOMSG_LEN);
  const hw = attrs.get(IFLA_ADDRESS);
  return {
    index: payload.readInt32LE(4),
    flags: payload.readUInt32LE(8),
    name: cString(attrs.get(IFLA_IFNAME)),
    hwAddress: hw ? [...hw].map((b) => b.toString(16).padStart(2, '0')).join(':') : '',
  };
}

export function parseAddress(payload: Buffer): NetAddress {
  const attrs = parseAttrs(payload, IFADDRMSG_LEN);
  const wideFlags = attrs.get(IFA_FLAGS);
  const addr: NetAddress = {
    family: payload.readUInt8(0),
    prefixLength: payload.readUInt8(1),
    flags: wideFlags && wideFlags.length >= 4 ? wideFlags.readUInt32LE(0) : payload.readUInt8(2),
    scope: payload.readUInt8(3),
    index: payload.readUInt32LE(4),
  };
  const bytes = (type: number): number[] | undefined => {
    const b = attrs.get(type);
    return b ? [...b] : undefined;
  };
  const local = bytes(IFA_LOCAL);
  const address = bytes(IFA_ADDRESS);
  const broadcast = bytes(IFA_BROADCAST);
  if (local) addr.local = local;
  if (address) addr.address = address;
  if (broadcast) addr.broadcast = broadcast;
  return addr;
}

/**
 * The addresses the spec says survive a move (config-linux.md "Network
 * Devices"): those of link `index` that are permanent (configured, not
 * learnt) and of global scope, of any family.
 */
export function addressesToKeep(all: NetAddress[], index: number): NetAddress[] {
  return all.filter((a) => a.index === index && (a.flags & IFA_F_PERMANENT) !== 0 && a.scope === RT_SCOPE_UNIVERSE);
}

/** "10.0.0.1/24", "fd00::1/64": for messages. */
export function formatAddress(addr: NetAddress): string {
  const bytes = addr.local ?? addr.address ?? [];
  let text: string;
  if (addr.family === AF_INET) {
    text = bytes.join('.');
  } else {
    const groups: string[] = [];
    for (let i = 0; i + 1 < bytes.length; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    text = compressIpv6(groups);
  }
  return `${text}/${addr.prefixLength}`;
}

/** RFC 5952: the longest run of two or more zero groups becomes "::". */
function compressIpv6(groups: string[]): string {
  let best = { at: -1, len: 0 };
  for (let i = 0; i < groups.length; ) {
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.len < 2) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}
