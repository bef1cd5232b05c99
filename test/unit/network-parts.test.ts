// The pure parts of `tsrun network`: --publish, the hooks spec --network
// writes, the hook state, and what state/list show from a record.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePublish, publishFlag } from '../../src/network/publish';
import { networkHooks } from '../../src/network/hooks-config';
import { parseHookState } from '../../src/network/attach';
import { networkSummary, removeRecord, writeRecord, type AttachmentRecord } from '../../src/network/record';
import { networkStateDir } from '../../src/network/state-dir';

describe('network: --publish', () => {
  it('reads [HOST_IP:]HOST:CONTAINER[/tcp|udp] and writes it back', () => {
    assert.deepEqual(parsePublish('8080:80'), { hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    assert.deepEqual(parsePublish('127.0.0.1:5353:53/udp'), { hostIP: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' });
    assert.equal(publishFlag(parsePublish('127.0.0.1:5353:53/udp')), '127.0.0.1:5353:53/udp');
    assert.equal(publishFlag(parsePublish('1:2')), '1:2/tcp');
  });

  it('refuses what is not a mapping, in one line naming it', () => {
    assert.throws(() => parsePublish('80'), /--publish 80: expected \[HOST_IP:\]HOST_PORT:CONTAINER_PORT/);
    assert.throws(() => parsePublish('0:80'), /host port "0" is not a port/);
    assert.throws(() => parsePublish('80:70000'), /container port "70000" is not a port/);
    assert.throws(() => parsePublish('80:80/sctp'), /protocol must be tcp or udp/);
    assert.throws(() => parsePublish('host:80:80'), /"host" is not an IPv4 address/);
  });
});

describe('network: hooks and records', () => {
  it('spec --network writes an add hook at createRuntime and a del hook at poststop, calling the launcher', () => {
    const hooks = networkHooks('/opt/tsrun/bin/tsrun', 'bridge', [parsePublish('8080:80')]);
    assert.deepEqual(hooks, {
      createRuntime: [{ path: '/opt/tsrun/bin/tsrun', args: ['tsrun', 'network', 'add', '--network', 'bridge', '--publish', '8080:80/tcp'] }],
      poststop: [{ path: '/opt/tsrun/bin/tsrun', args: ['tsrun', 'network', 'del', '--network', 'bridge'] }],
    });
  });

  it('reads the hook state, refusing what is not one', () => {
    assert.deepEqual(parseHookState('{"ociVersion":"1.3.0","id":"c","pid":5,"bundle":"/b","status":"creating"}'), { ociVersion: '1.3.0', id: 'c', pid: 5, bundle: '/b', status: 'creating' });
    assert.throws(() => parseHookState('nope'), /not JSON/);
    assert.throws(() => parseHookState('{"id":"c"}'), /lacks id, pid or bundle/);
  });

  it('state shows a record of this bundle once ADD succeeded; not another bundle\'s, not a half-done one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-netrec-'));
    try {
      const record: AttachmentRecord = {
        id: 'c1', bundle: '/b', pid: 1, startTime: 0, network: 'tsrun', configFile: '/x', ifName: 'eth0',
        list: { cniVersion: '1.0.0', name: 'tsrun', plugins: [{ type: 'bridge' }] },
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
        result: null,
      };
      writeRecord(dir, record);
      assert.equal(networkSummary(dir, 'c1', '/b'), undefined, 'not before ADD succeeded');
      record.result = { cniVersion: '1.0.0', interfaces: [{ name: 'tsrun0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/proc/1/ns/net' }], ips: [{ address: '10.89.0.2/24', interface: 2 }] };
      writeRecord(dir, record);
      assert.deepEqual(networkSummary(dir, 'c1', '/b'), { name: 'tsrun', interfaces: ['eth0'], ips: ['10.89.0.2/24'], ports: ['8080->80/tcp'] });
      assert.equal(networkSummary(dir, 'c1', '/other'), undefined);
      removeRecord(dir, 'c1');
      assert.equal(networkSummary(dir, 'c1', '/b'), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps network state in /run/tsrun-network for root, under XDG_RUNTIME_DIR for a user, or where TSRUN_NETWORK_DIR says', () => {
    assert.equal(networkStateDir({ TSRUN_NETWORK_DIR: '/tmp/x' }), '/tmp/x');
    assert.equal(networkStateDir({ XDG_RUNTIME_DIR: '/run/user/0' }, 0), '/run/tsrun-network');
    assert.equal(networkStateDir({ XDG_RUNTIME_DIR: '/run/user/9' }, 9), '/run/user/9/tsrun-network');
    assert.equal(networkStateDir({}, 9), '/run/tsrun-network');
  });
});
