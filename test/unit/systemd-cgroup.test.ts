// The pure parts of the systemd cgroup driver: the D-Bus wire format (with
// bytes systemd 252 really sent, captured with strace), slice:prefix:name
// parsing and the scope's properties.
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, messageLength, splitSignature, MessageType } from '../../src/cgroups/systemd/dbus-wire';
import { expandSlice, systemdCgroupOf } from '../../src/cgroups/systemd/unit-path';
import { scopeProperties, systemdResourceProperties } from '../../src/cgroups/systemd/unit-properties';

/** systemd's reply to GetUnit("init.scope") on its private socket (serial 2). */
const GET_UNIT_REPLY = Buffer.concat([
  Buffer.from('l\x02\x01\x01\x30\x00\x00\x00\x02\x00\x00\x00\x37\x00\x00\x00', 'latin1'),
  Buffer.from('\x05\x01u\x00\x02\x00\x00\x00\x07\x01s\x00\x18\x00\x00\x00org.freedesktop.systemd1\x00\x00\x00\x00\x00\x00\x00\x00\x08\x01g\x00\x01o\x00\x00', 'latin1'),
  Buffer.from('\x2b\x00\x00\x00/org/freedesktop/systemd1/unit/init_2escope\x00', 'latin1'),
]);

describe('systemd driver: D-Bus wire format', () => {
  it('splits signatures into complete types', () => {
    assert.deepEqual(splitSignature('ssa(sv)a(sa(sv))'), ['s', 's', 'a(sv)', 'a(sa(sv))']);
    assert.deepEqual(splitSignature('a{sv}u'), ['a{sv}', 'u']);
    assert.throws(() => splitSignature('(su'), /not closed/);
    assert.throws(() => splitSignature('z'), /unknown type "z"/);
  });

  it('decodes a reply systemd sent', () => {
    assert.equal(messageLength(GET_UNIT_REPLY.subarray(0, 16)), GET_UNIT_REPLY.length);
    const m = decodeMessage(GET_UNIT_REPLY);
    assert.equal(m.type, MessageType.methodReturn);
    assert.equal(m.replySerial, 2);
    assert.equal(m.sender, 'org.freedesktop.systemd1');
    assert.equal(m.signature, 'o');
    assert.deepEqual(m.body, ['/org/freedesktop/systemd1/unit/init_2escope']);
  });

  it('encodes a call as systemd reads it: header fields, padding, body alignment', () => {
    const bytes = encodeMessage({ type: MessageType.methodCall, serial: 7, destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'StopUnit', signature: 'ss', body: ['x.scope', 'replace'] });
    assert.equal(bytes.toString('latin1', 0, 4), 'l\x01\x00\x01');
    assert.equal(bytes.readUInt32LE(8), 7);
    const bodyLength = bytes.readUInt32LE(4);
    // Two strings: length, text, NUL, padded to 4 for the second.
    assert.equal(bodyLength, 4 + 7 + 1 + 4 + 7 + 1);
    assert.equal((bytes.length - bodyLength) % 8, 0, 'the body starts 8-aligned');
    const back = decodeMessage(bytes);
    assert.deepEqual([back.path, back.interface, back.member, back.destination, back.signature], ['/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'StopUnit', 'org.freedesktop.systemd1', 'ss']);
    assert.deepEqual(back.body, ['x.scope', 'replace']);
  });

  it('round-trips StartTransientUnit: variants, arrays of structs, an empty array, uint64', () => {
    const properties = scopeProperties({ unit: 'tsrun-a.scope', slice: 'system.slice', pid: 4242, description: 'tsrun container a', resources: systemdResourceProperties({ memory: { limit: 2 ** 40 } }, 'v1') });
    const body = ['tsrun-a.scope', 'fail', properties, []];
    const m = decodeMessage(encodeMessage({ type: MessageType.methodCall, serial: 1, path: '/', member: 'StartTransientUnit', signature: 'ssa(sv)a(sa(sv))', body }));
    // uint64 values (MemoryMax) are bigints both ways.
    assert.deepEqual(m.body, body);
  });

  it('rejects a body that does not fit its signature', () => {
    assert.throws(() => encodeMessage({ type: MessageType.methodCall, serial: 1, path: '/', member: 'X', signature: '(su)', body: [['only one']] }), /1 values for 2 fields/);
  });
});

describe('systemd driver: slice:prefix:name', () => {
  it('names the scope <prefix>-<name>.scope, or <name>.scope without a prefix, in the slice', () => {
    assert.deepEqual(systemdCgroupOf('system.slice:tsrun:abc', 'abc'), { slice: 'system.slice', unit: 'tsrun-abc.scope', path: '/system.slice/tsrun-abc.scope' });
    assert.deepEqual(systemdCgroupOf('machine-pod.slice::c1', 'c1'), { slice: 'machine-pod.slice', unit: 'c1.scope', path: '/machine.slice/machine-pod.slice/c1.scope' });
    assert.deepEqual(systemdCgroupOf(':libpod:x', 'x'), { slice: 'system.slice', unit: 'libpod-x.scope', path: '/system.slice/libpod-x.scope' });
    assert.deepEqual(systemdCgroupOf(undefined, 'id1'), { slice: 'system.slice', unit: 'tsrun-id1.scope', path: '/system.slice/tsrun-id1.scope' });
    assert.equal(systemdCgroupOf('-.slice:p:n', 'n').path, '/p-n.scope');
  });

  it('expands slices as systemd does', () => {
    assert.equal(expandSlice('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
    assert.equal(expandSlice('-.slice'), '');
    assert.throws(() => expandSlice('a--b.slice'), /not a valid slice name/);
    assert.throws(() => expandSlice('-a.slice'), /not a valid slice name/);
    assert.throws(() => expandSlice('a.scope'), /is not a slice/);
  });

  it('refuses what is not slice:prefix:name, naming the field', () => {
    assert.throws(() => systemdCgroupOf('/plain/path', 'x'), /^ConfigError: config\.json: \/linux\/cgroupsPath: "\/plain\/path" is not of the form slice:prefix:name/);
    assert.throws(() => systemdCgroupOf('a:b:c:d', 'x'), /not of the form/);
    assert.throws(() => systemdCgroupOf('system.slice:p:', 'x'), /the name after the second ":" is empty/);
    assert.throws(() => systemdCgroupOf('system.slice:p:pod.slice', 'x'), /a name ending in \.slice is not supported/);
    assert.throws(() => systemdCgroupOf('system.slice:p:a b', 'x'), /"p-a b\.scope" is not a valid systemd unit name/);
  });
});

describe('systemd driver: scope properties', () => {
  it('asks for a delegated scope holding the pid, without default dependencies', () => {
    const props = Object.fromEntries(scopeProperties({ unit: 'u.scope', slice: 's.slice', pid: 99, description: 'd', resources: [] }).map(([k, v]) => [k, v]));
    assert.deepEqual(props.PIDs, { signature: 'au', value: [99] });
    assert.deepEqual(props.Slice, { signature: 's', value: 's.slice' });
    assert.deepEqual(props.Delegate, { signature: 'b', value: true });
    assert.deepEqual(props.DefaultDependencies, { signature: 'b', value: false });
  });

  it('mirrors memory, pids and cpu limits in systemd units (v1 shares, v2 weight, quota per second rounded up to 10 ms)', () => {
    const byName = (version: 'v1' | 'v2') =>
      Object.fromEntries(systemdResourceProperties({ memory: { limit: 1000000 }, pids: { limit: 42 }, cpu: { shares: 1024, quota: 33333, period: 100000 } }, version).map(([k, v]) => [k, v.value]));
    const v1 = byName('v1');
    assert.equal(v1.MemoryMax, 1000000n);
    assert.equal(v1.TasksMax, 42n);
    assert.equal(v1.CPUShares, 1024n);
    assert.equal(v1.CPUQuotaPerSecUSec, 340000n);
    assert.equal(v1.CPUQuotaPeriodUSec, 100000n);
    assert.equal(byName('v2').CPUWeight, 100n);
    assert.equal(byName('v2').CPUShares, undefined);
    const none = Object.fromEntries(systemdResourceProperties({}, 'v1'));
    assert.deepEqual(Object.keys(none).sort(), ['CPUAccounting', 'MemoryAccounting', 'TasksAccounting']);
  });
});
