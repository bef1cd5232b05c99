// rtnetlink message building and parsing (src/linux/netlink-message.ts) and
// how stage 1 finds a moved link (src/process/create/net-devices.ts), byte
// by byte, without a socket or root.
import * as assert from 'node:assert/strict';
import {
  AF_INET,
  AF_INET6,
  IFA_F_PERMANENT,
  NLMSG_ERROR,
  RTM_NEWADDR,
  RTM_NEWLINK,
  addressesToKeep,
  align4,
  buildMessage,
  errorOfMessage,
  formatAddress,
  moveLinkRequest,
  newAddressRequest,
  parseAddress,
  parseAttrs,
  parseLink,
  parseMessages,
  setLinkUpRequest,
  type NetAddress,
} from '../../src/linux/netlink-message';
import { findMovedLink } from '../../src/process/create/net-devices';
import type { MovedNetDevice } from '../../src/process/channel/sync';

function attr(type: number, data: Buffer): Buffer {
  const b = Buffer.alloc(align4(4 + data.length));
  b.writeUInt16LE(4 + data.length, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}

/** An RTM_NEWADDR as the kernel sends it in a dump. */
function kernelAddress(family: number, prefix: number, flags: number, scope: number, index: number, local: number[], wideFlags?: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt8(family, 0);
  body.writeUInt8(prefix, 1);
  body.writeUInt8(flags & 0xff, 2);
  body.writeUInt8(scope, 3);
  body.writeUInt32LE(index, 4);
  const parts = [body, attr(1, Buffer.from(local)), attr(2, Buffer.from(local)), attr(3, Buffer.from('veth0\0'))];
  if (wideFlags !== undefined) {
    const f = Buffer.alloc(4);
    f.writeUInt32LE(wideFlags, 0);
    parts.push(attr(8, f));
  }
  return buildMessage(RTM_NEWADDR, 2, 7, Buffer.concat(parts));
}

const V6 = [0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

describe('netlink messages', function () {
  it('builds the move-and-rename request as one RTM_NEWLINK with IFLA_IFNAME and IFLA_NET_NS_FD', function () {
    const msg = moveLinkRequest(9, 5, 'ctr0', 42);
    // header 16 + ifinfomsg 16 + IFLA_IFNAME (4 + "ctr0\0" = 9, padded to 12) + IFLA_NET_NS_FD (8)
    assert.equal(msg.length, 52);
    assert.equal(msg.readUInt32LE(0), 52);
    assert.equal(msg.readUInt16LE(4), RTM_NEWLINK);
    assert.equal(msg.readUInt16LE(6), 0x1 | 0x4, 'NLM_F_REQUEST | NLM_F_ACK');
    assert.equal(msg.readUInt32LE(8), 9, 'sequence number');
    assert.equal(msg.readInt32LE(16 + 4), 5, 'ifi_index');
    const attrs = parseAttrs(msg, 32);
    assert.equal(attrs.get(3)!.toString('latin1'), 'ctr0\0');
    assert.equal(attrs.get(28)!.readUInt32LE(0), 42);
  });

  it('sets a link up through ifi_flags and ifi_change', function () {
    const msg = setLinkUpRequest(1, 3);
    assert.equal(msg.length, 32);
    assert.equal(msg.readUInt32LE(16 + 8), 1, 'IFF_UP in flags');
    assert.equal(msg.readUInt32LE(16 + 12), 1, 'IFF_UP in change');
  });

  it('splits a datagram into messages and reads an acknowledgement and an error', function () {
    const ack = buildMessage(NLMSG_ERROR, 0, 3, Buffer.alloc(20));
    const err = buildMessage(NLMSG_ERROR, 0, 4, Buffer.from([0xef, 0xff, 0xff, 0xff, ...Buffer.alloc(16)]));
    const [a, e] = parseMessages(Buffer.concat([ack, err, Buffer.from([1, 2, 3])]));
    assert.equal(a!.seq, 3);
    assert.equal(errorOfMessage(a!), 0);
    assert.equal(e!.seq, 4);
    assert.equal(errorOfMessage(e!), 17, 'EEXIST');
  });

  it('parses a link with its name and hardware address', function () {
    const body = Buffer.alloc(16);
    body.writeInt32LE(7, 4);
    body.writeUInt32LE(0x1003, 8);
    const msg = buildMessage(RTM_NEWLINK, 0, 1, Buffer.concat([body, attr(3, Buffer.from('veth9\0')), attr(1, Buffer.from([2, 0xab, 0, 0, 0, 1]))]));
    const [m] = parseMessages(msg);
    assert.deepEqual(parseLink(m!.payload), { index: 7, flags: 0x1003, name: 'veth9', hwAddress: '02:ab:00:00:00:01' });
  });

  it('parses addresses, widening the flags from IFA_FLAGS, and keeps the permanent global ones of the link', function () {
    const datagram = Buffer.concat([
      kernelAddress(AF_INET, 24, IFA_F_PERMANENT, 0, 5, [10, 77, 0, 2]),
      kernelAddress(AF_INET6, 64, IFA_F_PERMANENT, 0, 5, V6, IFA_F_PERMANENT | 0x200),
      kernelAddress(AF_INET6, 64, IFA_F_PERMANENT, 253, 5, [0xfe, 0x80, ...Buffer.alloc(14)]),
      kernelAddress(AF_INET, 24, 0, 0, 5, [10, 78, 0, 3]),
      kernelAddress(AF_INET, 8, IFA_F_PERMANENT, 0, 1, [127, 0, 0, 1]),
    ]);
    const all = parseMessages(datagram).map((m) => parseAddress(m.payload));
    assert.equal(all.length, 5);
    assert.equal(all[1]!.flags, IFA_F_PERMANENT | 0x200);
    const kept = addressesToKeep(all, 5);
    assert.deepEqual(kept.map(formatAddress), ['10.77.0.2/24', 'fd77::2/64']);
  });

  it('re-adds an address with its prefix, scope and settable flags only', function () {
    const addr: NetAddress = { family: AF_INET6, prefixLength: 64, scope: 0, flags: IFA_F_PERMANENT | 0x02 | 0x200, index: 5, local: V6, address: V6 };
    const msg = newAddressRequest(2, 11, addr);
    assert.equal(msg.readUInt16LE(4), RTM_NEWADDR);
    assert.equal(msg.readUInt16LE(6), 0x1 | 0x4 | 0x400 | 0x200, 'REQUEST | ACK | CREATE | EXCL');
    assert.equal(msg.readUInt8(16), AF_INET6);
    assert.equal(msg.readUInt8(17), 64);
    assert.equal(msg.readUInt8(18), 0x02, 'NODAD in the byte, PERMANENT dropped');
    assert.equal(msg.readUInt32LE(20), 11, 'the new index');
    const attrs = parseAttrs(msg, 24);
    assert.deepEqual([...attrs.get(2)!], V6);
    assert.deepEqual([...attrs.get(1)!], V6);
    assert.equal(attrs.get(8)!.readUInt32LE(0), 0x02 | 0x200, 'IFA_FLAGS carries NOPREFIXROUTE');
    assert.equal(attrs.has(3), false, 'no label: it would name the old interface');
  });

  it('formats IPv6 addresses in their short form', function () {
    const f = (bytes: number[]): string => formatAddress({ family: AF_INET6, prefixLength: 128, scope: 0, flags: 0, index: 1, address: bytes });
    assert.equal(f([...Buffer.alloc(15), 1]), '::1/128');
    assert.equal(f([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), '2001:db8:0:1::1/128');
  });
});

describe('finding a moved link in the container namespace', function () {
  const links = [
    { index: 1, flags: 0, name: 'lo', hwAddress: '00:00:00:00:00:00' },
    { index: 2, flags: 0, name: 'sit0', hwAddress: '' },
    { index: 3, flags: 0, name: 'nd0', hwAddress: '02:00:00:00:00:02' },
    { index: 4, flags: 0, name: 'nd1', hwAddress: '02:00:00:00:00:01' },
    { index: 9, flags: 0, name: 'ctr0', hwAddress: '02:00:00:00:00:09' },
  ];
  const dev = (name: string, index: number, hwAddress: string): MovedNetDevice => ({ hostName: 'h', name, index, hwAddress, addresses: [] });

  it('finds a fixed name by its name', function () {
    assert.equal(findMovedLink(links, dev('ctr0', 5, 'x'), new Set()).index, 9);
  });

  it('finds a template by hardware address among the names it allows', function () {
    // index 2 was the device's index on the host; here the kernel gave it 4.
    assert.equal(findMovedLink(links, dev('nd%d', 2, '02:00:00:00:00:01'), new Set()).name, 'nd1');
  });

  it('skips links already claimed and fails when none is left', function () {
    assert.throws(() => findMovedLink(links, dev('ctr0', 9, ''), new Set([9])), /not in the container's network namespace/);
  });
});
