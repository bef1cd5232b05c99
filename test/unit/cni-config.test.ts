// Network configurations for the CNI runner: parsing and checking them (each
// error naming the file and the JSON pointer), finding one by name among
// config files, and the default network with its subnet choice.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, UserError } from '../../src/errors';
import { defaultNetwork, findNetwork, parseNetworkConfig } from '../../src/network/cni';
import { parseProcNetRoute, readUsedPrefixes } from '../../src/network/cni/host-routes';
import { chooseSubnet, firstHost, overlaps, parsePrefix } from '../../src/network/cni/subnet';

const GOOD = { cniVersion: '1.0.0', name: 'net1', plugins: [{ type: 'bridge', ipam: { type: 'host-local' } }, { type: 'portmap', capabilities: { portMappings: true } }] };

function withChange(change: (doc: Record<string, any>) => void): string {
  const doc = JSON.parse(JSON.stringify(GOOD)) as Record<string, any>;
  change(doc);
  return JSON.stringify(doc);
}

function refusal(text: string, file = '/etc/cni/net.d/10-x.conflist'): string {
  try {
    parseNetworkConfig(text, file);
  } catch (err) {
    assert.ok(err instanceof UserError, String(err));
    return err.message;
  }
  assert.fail('parsed');
}

describe('parseNetworkConfig', () => {
  it('reads a list as it is', () => {
    assert.deepEqual(parseNetworkConfig(JSON.stringify({ ...GOOD, disableCheck: true }), 'f'), { ...GOOD, disableCheck: true });
  });

  it('turns a single-plugin .conf into a list of one', () => {
    const conf = { cniVersion: '0.4.0', name: 'solo', type: 'bridge', bridge: 'br9', ipam: { type: 'host-local' } };
    assert.deepEqual(parseNetworkConfig(JSON.stringify(conf), 'x.conf'), { cniVersion: '0.4.0', name: 'solo', plugins: [{ type: 'bridge', bridge: 'br9', ipam: { type: 'host-local' } }] });
    assert.equal(refusal(JSON.stringify({ ...conf, type: 'a/b' }), 'x.conf'), 'x.conf: /type: "a/b" is not a plugin name (a file name in the plugin directories)');
  });

  const cases: Array<[string, string, string]> = [
    ['missing cniVersion', withChange((d) => delete d.cniVersion), '/cniVersion: missing (the CNI spec version, e.g. "1.0.0")'],
    ['a cniVersion that is no version', withChange((d) => (d.cniVersion = 1)), '/cniVersion: 1 is not a version like "1.0.0"'],
    ['missing name', withChange((d) => delete d.name), '/name: missing (the network name)'],
    ['a name CNI refuses', withChange((d) => (d.name = '-net')), '/name: "-net" is not a network name (a letter or digit, then letters, digits, "_", "." or "-")'],
    ['a name with a space', withChange((d) => (d.name = 'my net')), '/name: "my net" is not a network name (a letter or digit, then letters, digits, "_", "." or "-")'],
    ['no plugins and no type', withChange((d) => delete d.plugins), '/plugins: missing (a .conflist lists its plugins; a single-plugin .conf has a "type")'],
    ['plugins not a list', withChange((d) => (d.plugins = { type: 'bridge' })), '/plugins: must be a list of plugin configurations'],
    ['an empty plugin list', withChange((d) => (d.plugins = [])), '/plugins: is empty: a network needs at least one plugin'],
    ['a plugin that is not an object', withChange((d) => d.plugins.push('firewall')), '/plugins/2: a plugin configuration must be a JSON object'],
    ['a plugin without type', withChange((d) => delete d.plugins[0].type), '/plugins/0/type: missing (the plugin to run, e.g. "bridge")'],
    ['a type that is a path', withChange((d) => (d.plugins[1].type = '../../bin/sh')), '/plugins/1/type: "../../bin/sh" is not a plugin name (a file name in the plugin directories)'],
    ['an empty type', withChange((d) => (d.plugins[1].type = '')), '/plugins/1/type: "" is not a plugin name (a file name in the plugin directories)'],
    ['capabilities not an object', withChange((d) => (d.plugins[1].capabilities = ['portMappings'])), '/plugins/1/capabilities: must be an object of booleans'],
    ['a capability not a boolean', withChange((d) => (d.plugins[1].capabilities.portMappings = 'yes')), '/plugins/1/capabilities/portMappings: "yes" is not true or false'],
    ['disableCheck not a boolean', withChange((d) => (d.disableCheck = 'true')), '/disableCheck: "true" is not true or false'],
    ['a document that is not an object', '[1, 2]', '/: a network configuration must be a JSON object'],
  ];
  for (const [what, text, pointerAndProblem] of cases) {
    it(`refuses ${what}, naming the file and the JSON pointer`, () => {
      assert.equal(refusal(text), `/etc/cni/net.d/10-x.conflist: ${pointerAndProblem}`);
    });
  }

  it('keeps the pointer as data (a ConfigError)', () => {
    assert.throws(() => parseNetworkConfig(withChange((d) => delete d.plugins[1].type), 'f'), (e: unknown) => e instanceof ConfigError && e.file === 'f' && e.pointer === '/plugins/1/type');
  });

  it('says where the JSON breaks', () => {
    assert.match(refusal('{\n  "cniVersion": "1.0.0",\n  "name": "x"\n  "plugins": []\n}'), /^\/etc\/cni\/net\.d\/10-x\.conflist: not valid JSON: .* \(line 4, column 3\)$/);
  });
});

describe('findNetwork', () => {
  let root: string;
  let dirA: string;
  let dirB: string;
  const conflist = (name: string, type = 'bridge'): string => JSON.stringify({ cniVersion: '1.0.0', name, plugins: [{ type }] });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsrun-cni-find-'));
    [dirA, dirB] = [join(root, 'a'), join(root, 'b')];
    mkdirSync(dirA);
    mkdirSync(dirB);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('takes the first file in lexical order whose name matches, across .conflist, .conf and .json', () => {
    writeFileSync(join(dirA, '20-web.conflist'), conflist('web', 'second'));
    writeFileSync(join(dirA, '10-web.json'), conflist('web', 'first'));
    writeFileSync(join(dirA, '05-web.txt'), conflist('web', 'not-a-config-file'));
    writeFileSync(join(dirA, '30-db.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'db', type: 'macvlan' }));
    const web = findNetwork('web', [dirA]);
    assert.equal(web.file, join(dirA, '10-web.json'));
    assert.equal(web.list.plugins[0].type, 'first');
    assert.deepEqual(findNetwork('db', [dirA]).list.plugins, [{ type: 'macvlan' }]);
  });

  it('looks in the directories in order, past a missing one', () => {
    writeFileSync(join(dirB, '99-web.conflist'), conflist('web', 'in-b'));
    writeFileSync(join(dirA, '99-other.conflist'), conflist('other'));
    assert.equal(findNetwork('web', [join(root, 'none'), dirA, dirB]).list.plugins[0].type, 'in-b');
    writeFileSync(join(dirA, '99-web.conflist'), conflist('web', 'in-a'));
    assert.equal(findNetwork('web', [dirA, dirB]).list.plugins[0].type, 'in-a');
  });

  it('lists the networks it found, and the files it could not read, when the name is not there', () => {
    writeFileSync(join(dirA, '10-a.conflist'), conflist('alpha'));
    writeFileSync(join(dirA, '20-broken.conf'), '{ "name": ');
    writeFileSync(join(dirB, '10-b.conflist'), conflist('beta'));
    assert.throws(
      () => findNetwork('gamma', [dirA, dirB]),
      (e: unknown) => e instanceof UserError && e.message === `network "gamma" not found in ${dirA}, ${dirB} (networks found: alpha, beta; not readable as a network configuration: ${join(dirA, '20-broken.conf')})`,
    );
    assert.throws(() => findNetwork('x', [join(root, 'none')]), (e: unknown) => e instanceof UserError && e.message === `network "x" not found in ${join(root, 'none')} (no networks found)`);
  });

  it('reports the faults of the matching file rather than passing it over', () => {
    writeFileSync(join(dirA, '10-web.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'web', plugins: [] }));
    writeFileSync(join(dirA, '20-web.conflist'), conflist('web'));
    assert.throws(() => findNetwork('web', [dirA]), (e: unknown) => e instanceof ConfigError && e.message === `${join(dirA, '10-web.conflist')}: /plugins: is empty: a network needs at least one plugin`);
  });
});

describe('subnet choice', () => {
  it('starts at 10.89.0.0/24 (above podman\'s 10.88.0.0/16)', () => {
    assert.equal(chooseSubnet([]), '10.89.0.0/24');
    assert.equal(chooseSubnet(['10.88.0.0/16', '192.168.1.0/24']), '10.89.0.0/24');
  });

  it('skips a /24 that overlaps a route or an address, whatever their sizes', () => {
    assert.equal(chooseSubnet(['10.89.0.0/24']), '10.89.1.0/24');
    assert.equal(chooseSubnet(['10.89.0.77/24', '10.89.1.5']), '10.89.2.0/24', 'an interface address with its prefix; a bare host route');
    assert.equal(chooseSubnet(['10.89.0.0/23', '10.89.2.128/25']), '10.89.3.0/24');
    assert.equal(chooseSubnet(['10.89.0.0/16']), '10.90.0.0/24');
  });

  it('ignores a default route, IPv6 and what it cannot read', () => {
    assert.equal(chooseSubnet(['0.0.0.0/0', 'default', 'fd00::/8', '10.89.0.0/33', 'x']), '10.89.0.0/24');
  });

  it('moves on to 172.16/12, then 192.168/16, when 10/8 is taken', () => {
    assert.equal(chooseSubnet(['10.0.0.0/8']), '172.16.0.0/24');
    assert.equal(chooseSubnet(['10.0.0.0/8', '172.16.0.0/12']), '192.168.0.0/24');
    assert.equal(chooseSubnet(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/17']), '192.168.128.0/24');
  });

  it('says so when nothing is free', () => {
    assert.throws(
      () => chooseSubnet(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']),
      (e: unknown) =>
        e instanceof UserError &&
        e.message === 'default network: no free /24 subnet: every candidate in 10.89.0.0-10.255.255.0, 172.16.0.0-172.31.255.0, 192.168.0.0-192.168.255.0 overlaps a route or an address of this network namespace',
    );
  });

  it('does the prefix arithmetic right', () => {
    assert.deepEqual(parsePrefix('10.89.3.7/24'), { base: (10 * 2 ** 24) + (89 << 16) + (3 << 8), length: 24 });
    assert.deepEqual(parsePrefix('255.255.255.255'), { base: 2 ** 32 - 1, length: 32 });
    assert.equal(parsePrefix('1.2.3.256'), null);
    assert.ok(overlaps(parsePrefix('200.0.0.0/5')!, parsePrefix('203.1.2.3')!));
    assert.ok(!overlaps(parsePrefix('200.0.0.0/5')!, parsePrefix('208.0.0.0/24')!));
    assert.equal(firstHost('10.89.4.0/24'), '10.89.4.1');
  });

  it('reads /proc/net/route (little-endian hex)', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'wg0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0',
      '',
    ].join('\n');
    assert.deepEqual(parseProcNetRoute(text), [
      { prefix: '192.168.0.0/24', dev: 'eth0' },
      { prefix: '10.0.0.0/8', dev: 'wg0' },
    ]);
  });
});

describe('defaultNetwork', () => {
  let stateDir: string;
  beforeEach(() => (stateDir = join(mkdtempSync(join(tmpdir(), 'tsrun-cni-default-')), 'state')));
  afterEach(() => rmSync(join(stateDir, '..'), { recursive: true, force: true }));

  it('chooses a subnet free in this namespace, saves the list, and reads it back after', () => {
    const { list, file } = defaultNetwork(stateDir);
    assert.equal(file, join(stateDir, 'default.conflist'));
    const [bridge, portmap, firewall] = list.plugins;
    const ipam = bridge.ipam as { type: string; dataDir: string; ranges: Array<Array<{ subnet: string; gateway: string }>> };
    assert.deepEqual({ ...bridge, ipam: undefined }, { type: 'bridge', bridge: 'tsrun0', isGateway: true, ipMasq: true, hairpinMode: true, ipam: undefined });
    assert.equal(ipam.type, 'host-local');
    assert.equal(ipam.dataDir, join(stateDir, 'ipam'));
    const { subnet, gateway } = ipam.ranges[0][0];
    const used = readUsedPrefixes().filter((u) => u.dev !== 'tsrun0').map((u) => parsePrefix(u.prefix)).filter((p) => p !== null && p.length > 0);
    assert.deepEqual(used.filter((p) => overlaps(p!, parsePrefix(subnet)!)), []);
    assert.equal(gateway, firstHost(subnet));
    assert.deepEqual(portmap, { type: 'portmap', capabilities: { portMappings: true } });
    assert.deepEqual(firewall, { type: 'firewall' });
    assert.deepEqual(list.name, 'tsrun');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), list);
  });

  it('keeps to the saved configuration', () => {
    mkdirSync(stateDir);
    const saved = { cniVersion: '1.0.0', name: 'tsrun', plugins: [{ type: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.199.0.0/24' }]] } }] };
    writeFileSync(join(stateDir, 'default.conflist'), JSON.stringify(saved));
    assert.deepEqual(defaultNetwork(stateDir).list, saved);
    writeFileSync(join(stateDir, 'default.conflist'), '{');
    assert.throws(() => defaultNetwork(stateDir), /default\.conflist: not valid JSON/);
  });
});
