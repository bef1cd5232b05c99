// The CNI runner against fake plugins: shell scripts that log each call
// (the command, the CNI_* environment, stdin) and answer with a result, an
// error document, garbage, or nothing (a hang), as the test tells them
// through control files. No root, no network: only the protocol.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors';
import { addNetwork, defaultPluginDirs, delNetwork, type CniOptions } from '../../src/network/cni';
import { findMasqueradeRules, splitRuleLine } from '../../src/network/cni/masquerade-sweep';
import type { Attachment, CniResult, NetworkConfigList } from '../../src/network/types';

/**
 * A plugin named after its file. Control file ctl/<type>-<COMMAND> says how
 * it behaves: "fail" (error JSON, exit 1), "crash" (stderr only, exit 2),
 * "garbage" (exit 0, not JSON), "hang"; absent: a result naming the plugin.
 */
const FAKE_PLUGIN = `#!/bin/sh
type=$(basename "$0")
dir=$(dirname "$0")/..
n=$(cat "$dir/log/calls" 2>/dev/null | wc -l)
cat > "$dir/log/$n.stdin"
env | grep '^CNI_' | sort > "$dir/log/$n.env"
echo "$type $CNI_COMMAND $CNI_IFNAME" >> "$dir/log/calls"
case "$(cat "$dir/ctl/$type-$CNI_COMMAND" 2>/dev/null)" in
  fail) printf '{"code":7,"msg":"%s refused","details":"line one\\\\nline two"}' "$type"; exit 1 ;;
  crash) echo "panic: $type broke" >&2; exit 2 ;;
  garbage) echo "not json"; exit 0 ;;
  hang) exec sleep 1000 ;;
esac
[ "$CNI_COMMAND" = ADD ] && printf '{"cniVersion":"1.0.0","interfaces":[{"name":"from-%s"}]}' "$type"
exit 0
`;

class FakePlugins {
  readonly root = mkdtempSync(join(tmpdir(), 'tsrun-cni-unit-'));
  readonly bin = join(this.root, 'bin');
  readonly otherBin = join(this.root, 'bin2');

  constructor(types: string[]) {
    for (const d of [this.bin, this.otherBin, join(this.root, 'log'), join(this.root, 'ctl')]) mkdirSync(d);
    for (const t of types) this.install(t, this.bin);
  }

  install(type: string, dir: string): void {
    writeFileSync(join(dir, type), FAKE_PLUGIN);
    chmodSync(join(dir, type), 0o755);
  }

  behave(type: string, command: 'ADD' | 'DEL', how: 'fail' | 'crash' | 'garbage' | 'hang'): void {
    writeFileSync(join(this.root, 'ctl', `${type}-${command}`), how);
  }

  /** "type COMMAND ifname" per call, in order. */
  calls(): string[] {
    const file = join(this.root, 'log', 'calls');
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
  }

  stdin(call: number): Record<string, unknown> {
    return JSON.parse(readFileSync(join(this.root, 'log', `${call}.stdin`), 'utf8')) as Record<string, unknown>;
  }

  env(call: number): Record<string, string> {
    const lines = readFileSync(join(this.root, 'log', `${call}.env`), 'utf8').trim().split('\n');
    return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

const ATT: Attachment = {
  containerId: 'c0ffee',
  netns: '/proc/4242/ns/net',
  ifName: 'eth0',
  portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
};

function list(...types: string[]): NetworkConfigList {
  return { cniVersion: '1.0.0', name: 'testnet', plugins: types.map((type) => ({ type, some: `${type}-setting` })) };
}

describe('CNI runner (fake plugins)', function () {
  this.timeout(20000);
  let fake: FakePlugins;
  let opts: CniOptions;

  beforeEach(() => {
    fake = new FakePlugins(['loopback', 'first', 'second', 'third']);
    opts = { pluginDirs: [fake.otherBin, fake.bin] };
  });
  afterEach(() => fake.remove());

  describe('ADD', () => {
    it('brings up lo, then runs the plugins in order, each given the result before it', () => {
      const result = addNetwork(list('first', 'second', 'third'), ATT, opts);
      assert.deepEqual(fake.calls(), ['loopback ADD lo', 'first ADD eth0', 'second ADD eth0', 'third ADD eth0']);
      assert.deepEqual(fake.stdin(0), { type: 'loopback', cniVersion: '1.0.0', name: 'testnet' });
      assert.deepEqual(fake.stdin(1), { type: 'first', some: 'first-setting', cniVersion: '1.0.0', name: 'testnet' });
      assert.deepEqual(fake.stdin(2).prevResult, { cniVersion: '1.0.0', interfaces: [{ name: 'from-first' }] });
      assert.deepEqual(fake.stdin(3).prevResult, { cniVersion: '1.0.0', interfaces: [{ name: 'from-second' }] });
      assert.deepEqual(result, { cniVersion: '1.0.0', interfaces: [{ name: 'from-third' }] });
    });

    it('sets the CNI_* environment, with CNI_PATH the plugin dirs and none of the caller\'s CNI_* variables', () => {
      process.env.CNI_ARGS = 'LEAKED=1';
      try {
        addNetwork(list('first'), ATT, opts);
      } finally {
        delete process.env.CNI_ARGS;
      }
      const want = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/proc/4242/ns/net', CNI_PATH: `${fake.otherBin}:${fake.bin}` };
      assert.deepEqual(fake.env(0), { ...want, CNI_IFNAME: 'lo' });
      assert.deepEqual(fake.env(1), { ...want, CNI_IFNAME: 'eth0' });
    });

    it('passes CNI_ARGS when given', () => {
      addNetwork(list('first'), ATT, { ...opts, cniArgs: { IgnoreUnknown: '1', IP: '10.1.2.3' } });
      assert.equal(fake.env(1).CNI_ARGS, 'IgnoreUnknown=1;IP=10.1.2.3');
    });

    it('gives runtimeConfig.portMappings only to plugins declaring that capability, without their "capabilities"', () => {
      const l = list('first', 'second', 'third');
      l.plugins[1].capabilities = { portMappings: true };
      l.plugins[2].capabilities = { portMappings: false, other: true };
      l.plugins[0].runtimeConfig = { stale: true };
      addNetwork(l, ATT, opts);
      assert.equal('runtimeConfig' in fake.stdin(0), false);
      assert.equal('runtimeConfig' in fake.stdin(1), false, 'a runtimeConfig written in the file is dropped');
      assert.deepEqual(fake.stdin(2).runtimeConfig, { portMappings: ATT.portMappings });
      assert.equal('capabilities' in fake.stdin(2), false);
      assert.equal('runtimeConfig' in fake.stdin(3), false);
      assert.equal('capabilities' in fake.stdin(3), false);
    });

    it('undoes a failing ADD: DEL of the failed plugin and those before it (reverse), then of lo; the error in one line', () => {
      fake.behave('second', 'ADD', 'fail');
      assert.throws(
        () => addNetwork(list('first', 'second', 'third'), ATT, opts),
        (e: unknown) => e instanceof UserError && e.message === 'network "testnet": plugin "second" (ADD): second refused: line one line two',
      );
      assert.deepEqual(fake.calls(), ['loopback ADD lo', 'first ADD eth0', 'second ADD eth0', 'second DEL eth0', 'first DEL eth0', 'loopback DEL lo']);
      assert.deepEqual(fake.stdin(3).prevResult, { cniVersion: '1.0.0', interfaces: [{ name: 'from-first' }] }, 'the undo knows what was added');
      assert.equal(fake.env(4).CNI_COMMAND, 'DEL');
    });

    it('undoes lo when the first plugin fails, and names a failing undo in the error', () => {
      fake.behave('first', 'ADD', 'crash');
      fake.behave('loopback', 'DEL', 'fail');
      assert.throws(
        () => addNetwork(list('first', 'second'), ATT, opts),
        (e: unknown) =>
          e instanceof UserError &&
          e.message === 'network "testnet": plugin "first" (ADD): exit status 2: panic: first broke (undoing the ADD: network "testnet": plugin "loopback" (DEL): loopback refused: line one line two)',
      );
      assert.deepEqual(fake.calls(), ['loopback ADD lo', 'first ADD eth0', 'first DEL eth0', 'loopback DEL lo']);
    });

    it('refuses a list with a missing plugin before running anything', () => {
      assert.throws(
        () => addNetwork(list('first', 'bridge', 'third'), ATT, opts),
        (e: unknown) => e instanceof UserError && e.message === `CNI plugin "bridge" not found in ${fake.otherBin}:${fake.bin}: install Debian's containernetworking-plugins`,
      );
      rmSync(join(fake.bin, 'loopback'));
      assert.throws(() => addNetwork(list('first'), ATT, opts), /CNI plugin "loopback" not found/);
      assert.deepEqual(fake.calls(), []);
    });

    it('takes a plugin from the first dir that has it, and passes over a file that is not executable', () => {
      writeFileSync(join(fake.otherBin, 'first'), '#!/bin/sh\ncat >/dev/null\necho \'{"cniVersion":"1.0.0","interfaces":[{"name":"bin2"}]}\'\n');
      chmodSync(join(fake.otherBin, 'first'), 0o755);
      writeFileSync(join(fake.otherBin, 'second'), 'not a program');
      const result = addNetwork(list('first', 'second'), ATT, opts);
      assert.deepEqual(fake.calls(), ['loopback ADD lo', 'second ADD eth0'], 'the logging "first" in the later dir was not run');
      assert.deepEqual(fake.stdin(1).prevResult, { cniVersion: '1.0.0', interfaces: [{ name: 'bin2' }] });
      assert.deepEqual(result.interfaces, [{ name: 'from-second' }]);
    });

    it('kills a plugin that does not answer in time, then undoes', () => {
      fake.behave('second', 'ADD', 'hang');
      const started = Date.now();
      assert.throws(() => addNetwork(list('first', 'second'), ATT, { ...opts, timeoutMs: 400 }), /^UserError: network "testnet": plugin "second" \(ADD\): no answer after 0.4 s \(killed\)$/);
      assert.ok(Date.now() - started < 10000);
      assert.deepEqual(fake.calls().slice(-3), ['second DEL eth0', 'first DEL eth0', 'loopback DEL lo']);
    });

    it('refuses a success without a result document', () => {
      fake.behave('first', 'ADD', 'garbage');
      assert.throws(() => addNetwork(list('first'), ATT, opts), /plugin "first" \(ADD\): printed no result JSON: "not json\\n"$/);
      assert.deepEqual(fake.calls().slice(-2), ['first DEL eth0', 'loopback DEL lo']);
    });
  });

  describe('DEL', () => {
    const added: CniResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: '/proc/4242/ns/net' }], ips: [{ address: '10.89.0.2/24' }] };

    it('runs every plugin in reverse order with the ADD result, then lo, and reports nothing when clean', () => {
      const l = list('first', 'second', 'third');
      l.plugins[1].capabilities = { portMappings: true };
      assert.deepEqual(delNetwork(l, ATT, added, opts), []);
      assert.deepEqual(fake.calls(), ['third DEL eth0', 'second DEL eth0', 'first DEL eth0', 'loopback DEL lo']);
      for (const i of [0, 1, 2]) assert.deepEqual(fake.stdin(i).prevResult, added);
      assert.deepEqual(fake.stdin(1).runtimeConfig, { portMappings: ATT.portMappings });
      assert.equal('prevResult' in fake.stdin(3), false, 'lo was never part of the chain');
      assert.equal(fake.env(0).CNI_COMMAND, 'DEL');
    });

    it('goes on past failures and returns each in one line', () => {
      fake.behave('third', 'DEL', 'fail');
      fake.behave('first', 'DEL', 'crash');
      rmSync(join(fake.bin, 'second'));
      const failures = delNetwork(list('first', 'second', 'third'), { ...ATT, netns: '' }, null, opts);
      assert.deepEqual(failures, [
        'network "testnet": plugin "third" (DEL): third refused: line one line two',
        `network "testnet": plugin "second" (DEL): CNI plugin "second" not found in ${fake.otherBin}:${fake.bin}: install Debian's containernetworking-plugins`,
        'network "testnet": plugin "first" (DEL): exit status 2: panic: first broke',
      ]);
      assert.deepEqual(fake.calls(), ['third DEL eth0', 'first DEL eth0', 'loopback DEL lo']);
      assert.equal(fake.env(0).CNI_NETNS, '', 'a gone namespace is passed on as ""');
      assert.equal('prevResult' in fake.stdin(0), false);
    });
  });
});

describe('defaultPluginDirs', () => {
  it('splits CNI_PATH, else uses Debian\'s and the upstream directory', () => {
    assert.deepEqual(defaultPluginDirs({ CNI_PATH: '/a:/b::' }), ['/a', '/b']);
    assert.deepEqual(defaultPluginDirs({}), ['/usr/lib/cni', '/opt/cni/bin']);
    assert.deepEqual(defaultPluginDirs({ CNI_PATH: '' }), ['/usr/lib/cni', '/opt/cni/bin']);
  });
});

describe('bridge masquerade leftovers', () => {
  // What `iptables -t nat -S POSTROUTING` printed here after a bridge DEL without a namespace.
  const listing = [
    '-P POSTROUTING ACCEPT',
    '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
    '-A POSTROUTING -s 10.89.0.2/32 -m comment --comment "name: \\"tsrun\\" id: \\"c1\\"" -j CNI-6f5d9560e5d755da97d3a458',
    '-A POSTROUTING -s 10.89.0.3/32 -m comment --comment "name: \\"tsrun\\" id: \\"c10\\"" -j CNI-0123456789abcdef01234567',
  ].join('\n');

  it('splits a rule line as iptables quotes it', () => {
    assert.deepEqual(splitRuleLine('-A X -m comment --comment "a \\"b\\" \\\\c" -j Y'), ['-A', 'X', '-m', 'comment', '--comment', 'a "b" \\c', '-j', 'Y']);
    assert.deepEqual(splitRuleLine('-A X --comment ""'), ['-A', 'X', '--comment', '']);
  });

  it("finds only this container's rule, with the chain it jumps to", () => {
    assert.deepEqual(findMasqueradeRules(listing, 'name: "tsrun" id: "c1"'), [
      { rule: ['-s', '10.89.0.2/32', '-m', 'comment', '--comment', 'name: "tsrun" id: "c1"', '-j', 'CNI-6f5d9560e5d755da97d3a458'], chain: 'CNI-6f5d9560e5d755da97d3a458' },
    ]);
    assert.deepEqual(findMasqueradeRules(listing, 'name: "tsrun" id: "c2"'), []);
  });
});
