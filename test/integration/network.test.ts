// Container networking through the CNI plugins (`tsrun spec --network`,
// whose hooks call `tsrun network add|del`). Everything happens inside a
// network namespace this test makes and uses as the "host": the bridge
// tsrun0, the veths, the iptables rules and the traffic never touch the
// machine's own namespace, and nothing is sent anywhere but between the
// containers and that namespace. Network state (records, leases, the
// default network's configuration) lives in a temp dir (TSRUN_NETWORK_DIR).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_ROOTFS, TSRUN, tempDir, uniqueId } from '../helpers/harness';
import { describeResult, missingBinary, runCommand, type CmdResult } from '../helpers/engines';
import { isAlive, waitFor } from '../helpers/session';
import type { Spec } from '../../src/spec/types';

const PLUGINS = '/usr/lib/cni';
const missing = missingBinary('nsenter', 'unshare', 'iptables', 'ip') ?? (existsSync(join(PLUGINS, 'bridge')) ? undefined : 'containernetworking-plugins');
const maybe = missing ? describe.skip : describe;

/** A network namespace of the test's own, kept alive by a sleeping process, used as the containers' host. */
class HostNamespace {
  readonly holder: ChildProcess;
  readonly dir = tempDir('tsrun-net-');
  readonly netDir = join(this.dir, 'net');
  readonly root = join(this.dir, 'root');
  readonly io = join(this.dir, 'io');

  constructor() {
    mkdirSync(this.io);
    this.holder = spawn('unshare', ['--net', '--', 'sleep', '1000000'], { stdio: 'ignore' });
  }

  get nsPath(): string {
    return `/proc/${this.holder.pid}/ns/net`;
  }

  async ready(): Promise<void> {
    assert.ok(await waitFor(() => this.readlink() !== this.readlinkSelf(), 10000), 'the test namespace never appeared');
    this.ok(['ip', 'link', 'set', 'lo', 'up']);
  }

  private readlink(): string {
    return spawnSync('readlink', [this.nsPath], { encoding: 'utf8' }).stdout.trim();
  }

  private readlinkSelf(): string {
    return spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout.trim();
  }

  /** A command in the test's namespace. */
  run(argv: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CmdResult {
    return runCommand(this.io, ['nsenter', `--net=${this.nsPath}`, '--', ...argv], { env: opts.env ?? process.env, timeoutMs: opts.timeoutMs ?? 60000 });
  }

  ok(argv: string[]): CmdResult {
    const r = this.run(argv);
    assert.equal(r.status, 0, describeResult(argv, r));
    return r;
  }

  /** tsrun in the test's namespace, with its own state root and network dir. */
  tsrun(args: string[], opts: { timeoutMs?: number } = {}): CmdResult {
    return this.run([TSRUN, '--root', this.root, ...args], { env: { ...process.env, TSRUN_NETWORK_DIR: this.netDir }, timeoutMs: opts.timeoutMs });
  }

  /** What a container's network may leave: links, routes, rules, leases, records. */
  snapshot(): Record<string, string> {
    const leases = join(this.netDir, 'ipam');
    return {
      // Names only: a bridge's carrier (and its route's "linkdown") follow whether any port is left.
      links: this.ok(['ip', '-o', 'link', 'show']).stdout.split('\n').filter((l) => l !== '').map((l) => l.split(': ')[1]).sort().join(' '),
      routes: this.ok(['ip', 'route', 'show']).stdout.replace(/ linkdown/g, ''),
      nat: this.ok(['iptables', '-t', 'nat', '-S']).stdout,
      filter: this.ok(['iptables', '-t', 'filter', '-S']).stdout,
      leases: existsSync(leases) ? readdirSync(leases, { recursive: true }).map(String).sort().join(' ') : '',
      records: existsSync(this.netDir) ? readdirSync(this.netDir).filter((n) => n.endsWith('.json')).join(' ') : '',
    };
  }

  destroy(): void {
    for (const id of existsSync(this.root) ? readdirSync(this.root) : []) if (!id.endsWith('.lock')) this.tsrun(['delete', '--force', id]);
    this.holder.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The state letter of /proc/PID/stat (T: stopped), '' once gone. */
function processState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];
  } catch {
    return '';
  }
}

maybe(`networking through the CNI plugins${missing ? ` (skipped: ${missing} is not installed)` : ''}`, function () {
  this.timeout(300000);
  let host: HostNamespace;

  beforeEach(async () => {
    host = new HostNamespace();
    await host.ready();
  });
  afterEach(() => host.destroy());

  /** A bundle from `tsrun spec --network NETWORK ...flags`, running `args` with ping's capability, no terminal. */
  function bundle(args: string[], flags: string[] = ['--network', 'bridge'], mutate?: (spec: Spec) => void): string {
    const dir = join(host.dir, uniqueId('b'));
    mkdirSync(dir);
    const copy = spawnSync('cp', ['-a', BUSYBOX_ROOTFS, join(dir, 'rootfs')]);
    assert.equal(copy.status, 0, String(copy.stderr));
    const made = spawnSync(TSRUN, ['spec', '--bundle', dir, ...flags], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
    spec.process!.terminal = false;
    spec.process!.args = args;
    for (const set of ['bounding', 'effective', 'permitted'] as const) spec.process!.capabilities![set]!.push('CAP_NET_RAW');
    // Hooks get the environment their config gives them, and no other: the network state stays in the test's dir.
    for (const h of [...(spec.hooks?.createRuntime ?? []), ...(spec.hooks?.poststop ?? [])]) h.env = [`TSRUN_NETWORK_DIR=${host.netDir}`];
    mutate?.(spec);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
    return dir;
  }

  function state(id: string): { pid: number; network?: { name: string; interfaces: string[]; ips: string[]; ports?: string[] } } {
    const r = host.tsrun(['state', id]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  }

  function ipOf(id: string): string {
    const ips = state(id).network?.ips ?? [];
    assert.equal(ips.length, 1, JSON.stringify(state(id)));
    return ips[0].split('/')[0];
  }

  const ECHO_SERVER = ['nc', '-ll', '-p', '7000', '-e', 'cat'];

  it('writes the hooks: createRuntime calls tsrun network add, poststop tsrun network del', () => {
    const dir = bundle(['true'], ['--network', 'bridge', '--publish', '8080:80', '-p', '127.0.0.1:5353:53/udp']);
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
    assert.deepEqual(spec.hooks?.createRuntime?.map((h) => h.args), [['tsrun', 'network', 'add', '--network', 'bridge', '--publish', '8080:80/tcp', '--publish', '127.0.0.1:5353:53/udp']]);
    assert.deepEqual(spec.hooks?.poststop?.map((h) => h.args), [['tsrun', 'network', 'del', '--network', 'bridge']]);
    assert.match(spec.hooks?.createRuntime?.[0].path ?? '', /\/bin\/tsrun$/);
    const bad = spawnSync(TSRUN, ['spec', '--bundle', host.dir, '--rootless', '--network', 'bridge'], { encoding: 'utf8' });
    assert.match(bad.stderr, /--network needs root/);
    assert.match(spawnSync(TSRUN, ['spec', '--bundle', host.dir, '--publish', '1:2'], { encoding: 'utf8' }).stderr, /--publish goes with --network/);
    assert.equal(existsSync(join(host.dir, 'config.json')), false);
    // tsrun bundle takes the same flags: an image straight onto a network.
    const fromImage = join(host.dir, 'from-image');
    const tar = spawnSync('tar', ['-C', BUSYBOX_ROOTFS, '-c', '.'], { maxBuffer: 1 << 30 });
    const made = spawnSync(TSRUN, ['bundle', '--from', '-', '--network', 'bridge', '-p', '8080:80', fromImage], { input: tar.stdout, encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const imageSpec = JSON.parse(readFileSync(join(fromImage, 'config.json'), 'utf8')) as Spec;
    assert.deepEqual(imageSpec.hooks?.createRuntime?.map((h) => [h.path, ...(h.args ?? [])]), [[spec.hooks?.createRuntime?.[0].path, 'tsrun', 'network', 'add', '--network', 'bridge', '--publish', '8080:80/tcp']]);
    assert.deepEqual(imageSpec.hooks?.poststop?.map((h) => h.args), [['tsrun', 'network', 'del', '--network', 'bridge']]);
  });

  it('two containers on the default bridge reach each other and the bridge; state shows the address eth0 has; NAT is set for the subnet', () => {
    const server = bundle(ECHO_SERVER);
    host.ok([TSRUN, '--root', host.root, 'run', '--detach', '--bundle', server, 'srv']);
    const address = ipOf('srv');
    const st = state('srv');
    assert.deepEqual(st.network?.interfaces, ['eth0']);
    assert.equal(st.network?.name, 'tsrun');
    const gateway = address.replace(/\.\d+$/, '.1');
    const client = bundle(['sh', '-c', `ip -4 -o addr show eth0; ping -c 1 -W 5 ${address} >/dev/null && echo ping-peer; ping -c 1 -W 5 ${gateway} >/dev/null && echo ping-bridge; echo hello | nc -w 5 ${address} 7000`]);
    const out = host.tsrun(['run', '--bundle', client, 'cli']);
    assert.equal(out.status, 0, describeResult(['run cli'], out));
    assert.match(out.stdout, /eth0\s+inet 10\.\d+\.\d+\.\d+\/24/);
    assert.match(out.stdout, /ping-peer\nping-bridge\nhello\n$/);
    const inside = host.tsrun(['exec', 'srv', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    assert.match(inside.stdout, new RegExp(`inet ${address.replace(/\./g, '\\.')}/24`));
    // Outbound NAT: the container's address goes to its chain, which masquerades what leaves the subnet.
    const nat = host.ok(['iptables', '-t', 'nat', '-S']).stdout;
    const chain = new RegExp(`^-A POSTROUTING -s ${address.replace(/\./g, '\\.')}/32 .*-j (CNI-\\w+)$`, 'm').exec(nat)?.[1];
    assert.ok(chain !== undefined, nat);
    const subnet = address.replace(/\.\d+$/, '.0/24');
    assert.ok(nat.includes(`-A ${chain} -d ${subnet} `) && new RegExp(`^-A ${chain} .*-j MASQUERADE$`, 'm').test(nat), nat);
    const list = JSON.parse(host.tsrun(['list', '--format', 'json']).stdout) as Array<{ id: string; network?: { ips: string[] } }>;
    assert.deepEqual(list.find((c) => c.id === 'srv')?.network?.ips, [`${address}/24`]);
    const table = host.tsrun(['list']).stdout.split('\n');
    assert.match(table[0], /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\s+ADDRESS$/);
    assert.match(table.find((l) => l.startsWith('srv ')) ?? '', new RegExp(`\\stsrun: ${address.replace(/\./g, '\\.')}/24$`));
  });

  it('a published port is reachable from the host on the bridge address; /etc/hosts and /etc/resolv.conf are the container\'s', () => {
    const dir = bundle(ECHO_SERVER, ['--network', 'bridge', '--publish', '8080:7000']);
    host.ok([TSRUN, '--root', host.root, 'run', '--detach', '--bundle', dir, 'pub']);
    const address = ipOf('pub');
    const gateway = address.replace(/\.\d+$/, '.1');
    assert.deepEqual(state('pub').network?.ports, ['8080->7000/tcp']);
    const reply = host.run(['sh', '-c', `echo over-the-port | busybox nc -w 5 ${gateway} 8080`]);
    assert.equal(reply.stdout, 'over-the-port\n', describeResult(['nc'], reply));
    const files = host.tsrun(['exec', 'pub', 'cat', '/etc/hosts', '/etc/resolv.conf']);
    assert.match(files.stdout, new RegExp(`^${address.replace(/\./g, '\\.')}\\s+tsrun`, 'm'));
    assert.doesNotMatch(files.stdout, /nameserver 127\./);
    assert.equal(readFileSync(join(dir, 'rootfs', 'etc', 'hosts'), 'utf8').includes(address), false, 'the rootfs itself is not written');
  });

  it('teardown leaves links, routes, rules, leases and records as they were: delete, a killed container, a killed tsrun mid-create', async () => {
    const dir = bundle(['sleep', '1000']);
    // The first container makes the bridge and the plugins' chains, which stay (they are the network's, not a container's).
    host.ok([TSRUN, '--root', host.root, 'run', '--detach', '--bundle', dir, 'warm']);
    host.ok([TSRUN, '--root', host.root, 'delete', '--force', 'warm']);
    const before = host.snapshot();
    assert.equal(before.records, '');

    host.ok([TSRUN, '--root', host.root, 'run', '--detach', '--bundle', dir, 'plain']);
    assert.notDeepEqual(host.snapshot(), before, 'the container added nothing?');
    host.ok([TSRUN, '--root', host.root, 'delete', '--force', 'plain']);
    assert.deepEqual(host.snapshot(), before, 'after delete --force');

    host.ok([TSRUN, '--root', host.root, 'run', '--detach', '--bundle', dir, 'killed']);
    const pid = state('killed').pid;
    process.kill(pid, 'SIGKILL');
    assert.ok(await waitFor(() => !isAlive(pid), 10000));
    host.ok([TSRUN, '--root', host.root, 'delete', 'killed']);
    assert.deepEqual(host.snapshot(), before, 'after the container was killed');
    assert.equal(host.tsrun(['network', 'del'], {}).status, 1, 'no state on stdin is an error');

    // tsrun stopped (then killed) once the init is ready: the network was added by then.
    const create = spawn('nsenter', [`--net=${host.nsPath}`, '--', TSRUN, '--root', host.root, 'create', '--bundle', dir, 'midway'], {
      stdio: 'ignore',
      env: { ...process.env, TSRUN_NETWORK_DIR: host.netDir, TSRUN_TEST_STOP_AT: 'init-ready' },
    });
    assert.ok(await waitFor(() => processState(create.pid as number) === 'T', 30000), 'create never stopped at init-ready');
    assert.notEqual(JSON.parse(readFileSync(join(host.netDir, 'midway.json'), 'utf8')).result, null, 'the network was added');
    create.kill('SIGKILL');
    host.ok([TSRUN, '--root', host.root, 'delete', '--force', 'midway']);
    assert.deepEqual(host.snapshot(), before, 'after tsrun was killed mid-create');
  });

  it('20 containers created in parallel get 20 distinct addresses, all released on delete', async () => {
    const dir = bundle(['sleep', '1000']);
    const before = host.snapshot();
    const ids = Array.from({ length: 20 }, (_, i) => `par${i}`);
    const results = await Promise.all(
      ids.map(
        (id) =>
          new Promise<string>((resolve) => {
            const err = openSync(join(host.io, `${id}.err`), 'w');
            const p = spawn('nsenter', [`--net=${host.nsPath}`, '--', TSRUN, '--root', host.root, 'run', '--detach', '--bundle', dir, id], { stdio: ['ignore', 'ignore', err], env: { ...process.env, TSRUN_NETWORK_DIR: host.netDir } });
            closeSync(err);
            p.on('exit', (code) => resolve(code === 0 ? 'ok' : `${id}: exit ${code}: ${readFileSync(join(host.io, `${id}.err`), 'utf8').trim()}`));
          }),
      ),
    );
    assert.deepEqual(results.filter((r) => r !== 'ok'), []);
    const addresses = ids.map(ipOf);
    assert.equal(new Set(addresses).size, 20, addresses.join(' '));
    for (const id of ids) host.ok([TSRUN, '--root', host.root, 'delete', '--force', id]);
    const after = host.snapshot();
    assert.equal(after.leases.split(' ').filter((n) => /^\d/.test(n.split('/').pop() ?? '')).length, 0, after.leases);
    assert.equal(after.records, before.records);
  });

  it('bad input: one line, exit 1, and no veth, lease, record or state left', () => {
    const before = host.snapshot();
    const badConflist = join(host.dir, 'bad.conflist');
    writeFileSync(badConflist, '{"cniVersion": "1.0.0", "name": "bad", "plugins": [ {"type": 7} ]}');
    const tiny = join(host.dir, 'tiny.conflist');
    writeFileSync(tiny, JSON.stringify({ cniVersion: '1.0.0', name: 'tiny', plugins: [{ type: 'bridge', bridge: 'tiny0', ipam: { type: 'host-local', ranges: [[{ subnet: '10.123.0.0/30' }]], dataDir: join(host.netDir, 'ipam') } }] }));
    const noPlugins = (spec: Spec): void => {
      for (const h of spec.hooks?.createRuntime ?? []) h.env = [...(h.env ?? []), 'CNI_PATH=/nonexistent'];
    };
    const noNetns = (spec: Spec): void => {
      spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'network');
    };
    // The only address of the tiny range is taken by the first container.
    host.ok([TSRUN, '--root', host.root, 'run', '--detach', '--bundle', bundle(['sleep', '1000'], ['--network', tiny]), 'holder']);
    const cases: Array<[string, string, RegExp]> = [
      ['missing', bundle(['true'], undefined, noPlugins), /CNI plugin "\w+" not found in \/nonexistent: install Debian's containernetworking-plugins/],
      ['badconf', bundle(['true'], ['--network', badConflist]), /bad\.conflist: \/plugins\/0\/type/],
      ['full', bundle(['true'], ['--network', tiny]), /no IP addresses available|range/i],
      ['nonetns', bundle(['true'], undefined, noNetns), /has no network namespace of its own/],
    ];
    for (const [id, dir, pattern] of cases) {
      const r = host.tsrun(['run', '--bundle', dir, id]);
      assert.equal(r.status, 1, describeResult([id], r));
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], pattern);
      assert.equal(existsSync(join(host.root, id)), false, `${id}: state left`);
      assert.equal(existsSync(join(host.netDir, `${id}.json`)), false, `${id}: network record left`);
    }
    host.ok([TSRUN, '--root', host.root, 'delete', '--force', 'holder']);
    const after = host.snapshot();
    // The tiny network's bridge and chains are the network's; nothing of the failed containers is left.
    assert.equal(after.records, before.records);
    assert.deepEqual(after.links.split(' ').filter((l) => /veth/.test(l)), before.links.split(' ').filter((l) => /veth/.test(l)));
  });
});
