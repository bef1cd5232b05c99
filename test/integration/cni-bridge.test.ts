// The CNI runner with Debian's real plugins (bridge, host-local, loopback,
// portmap, firewall) and the default network. Nothing here touches the
// machine's own network namespace: each suite makes a "host" namespace (a
// `unshare --net sleep` child) and runs the runner inside it through
// cni-driver.js under `nsenter --net`, so the bridge, the host veth ends
// and the iptables rules all live there; each container is another such
// child. Traffic goes only between these namespaces. Killing the children
// at the end removes everything the plugins made, even after a failure.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { overlaps, parsePrefix } from '../../src/network/cni/subnet';
import type { Attachment, CniResult, PortMapping } from '../../src/network/types';
import type { DriverAnswer, DriverRequest } from './cni-driver';
import { nsLink, waitFor } from './isolation-common';

const DRIVER = join(__dirname, 'cni-driver.js');

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A network namespace held open by a sleeping child; gone (with all in it) once the child is killed. */
class Netns {
  private constructor(private readonly child: ChildProcess) {}

  static async make(): Promise<Netns> {
    const child = spawn('unshare', ['--net', 'sleep', '100000'], { stdio: 'ignore' });
    const ns = new Netns(child);
    live.add(ns);
    await waitFor('the namespace child', () => child.pid !== undefined && existsSync(`/proc/${child.pid}/ns/net`) && nsLink(child.pid, 'net') !== nsLink('self', 'net'));
    return ns;
  }

  get path(): string {
    return `/proc/${this.child.pid}/ns/net`;
  }

  /** `cmd` run in this namespace. */
  run(cmd: string, ...args: string[]): Ran {
    const r = spawnSync('nsenter', [`--net=${this.path}`, cmd, ...args], { encoding: 'utf8', timeout: 30000 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  must(cmd: string, ...args: string[]): string {
    const r = this.run(cmd, ...args);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${this.path}): exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  kill(): void {
    live.delete(this);
    this.child.kill('SIGKILL');
  }
}

const live = new Set<Netns>();

/** The runner in `host`, in a process of its own; resolves with its answer. */
function driver(host: Netns, req: DriverRequest): Promise<DriverAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${host.path}`, process.execPath, DRIVER, JSON.stringify(req)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out) as DriverAnswer);
      } catch {
        reject(new Error(`cni-driver exited ${code}: ${out} ${err}`));
      }
    });
  });
}

async function add(host: Netns, stateDir: string, att: Attachment): Promise<CniResult> {
  const a = await driver(host, { op: 'add', stateDir, att });
  if (!('result' in a)) throw new Error(`ADD failed: ${JSON.stringify(a)}`);
  return a.result;
}

async function del(host: Netns, stateDir: string, att: Attachment, prevResult: CniResult | null): Promise<string[]> {
  const a = await driver(host, { op: 'del', stateDir, att, prevResult });
  if (!('failures' in a)) throw new Error(`DEL failed: ${JSON.stringify(a)}`);
  return a.failures;
}

function attachment(containerId: string, netns: string, portMappings: PortMapping[] = []): Attachment {
  return { containerId, netns, ifName: 'eth0', portMappings };
}

/** The container's address ("10.89.0.2") and the host veth end from an ADD result. */
function addressOf(result: CniResult): { ip: string; prefix: string; gateway: string; hostVeth: string } {
  const entry = result.ips?.[0];
  assert.ok(entry?.gateway, `an address with a gateway in ${JSON.stringify(result)}`);
  const hostVeth = result.interfaces?.find((i) => i.sandbox === undefined && i.name !== 'tsrun0')?.name;
  assert.ok(hostVeth, `a host veth in ${JSON.stringify(result)}`);
  return { ip: entry.address.split('/')[0], prefix: entry.address, gateway: entry.gateway, hostVeth };
}

/** The nat chains the plugins made for this container (masquerade, port DNAT): what its commented rules jump to. */
function chainsOf(host: Netns, containerId: string): string[] {
  const nat = host.must('iptables', '-t', 'nat', '-S').split('\n');
  return [...new Set(nat.filter((l) => l.includes(`id: \\"${containerId}\\"`)).flatMap((l) => / -j (CNI-\S+)/.exec(l)?.[1] ?? []))];
}

/** Every iptables line (filter and nat) in `host` about this container: its address, or one of its chains. */
function rulesFor(host: Netns, ip: string, chains: string[]): string[] {
  const all = [...host.must('iptables', '-t', 'nat', '-S').split('\n'), ...host.must('iptables', '-S').split('\n')];
  return all.filter((l) => l.includes(`${ip}/32`) || l.includes(`${ip}:`) || chains.some((c) => l.includes(c)));
}

/** The addresses host-local holds for these containers (a lease file is named by the address and starts with the id). */
function leases(stateDir: string, ...containerIds: string[]): string[] {
  const dir = join(stateDir, 'ipam', 'tsrun');
  if (!existsSync(dir)) return [];
  const addresses = readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
  return addresses.filter((f) => containerIds.includes(readFileSync(join(dir, f), 'utf8').split(/\r?\n/)[0])).sort();
}

function linkExists(ns: Netns, name: string): boolean {
  return ns.run('ip', 'link', 'show', 'dev', name).status === 0;
}

describe('CNI runner with the real plugins (default network, in a namespace of its own)', function () {
  this.timeout(120000);
  let host: Netns;
  let work: string;
  let stateDir: string;
  let subnet: string;
  let serial = 0;
  const newId = (): string => `cni-it-${process.pid}-${++serial}`;

  before(async function () {
    for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap', 'firewall']) assert.ok(existsSync(`/usr/lib/cni/${plugin}`), `/usr/lib/cni/${plugin} (containernetworking-plugins)`);
    work = mkdtempSync(join(tmpdir(), 'tsrun-cni-it-'));
    stateDir = join(work, 'state');
    host = await Netns.make();
    host.must('ip', 'link', 'set', 'lo', 'up'); // a real host's lo is up; portmap's 127.0.0.1 forwarding needs it
    const d = await driver(host, { op: 'default', stateDir });
    assert.ok('subnet' in d, JSON.stringify(d));
    subnet = d.subnet;
  });

  after(() => {
    for (const ns of [...live]) ns.kill();
    rmSync(work, { recursive: true, force: true });
  });

  it('ADD: eth0 in the container with an address of the subnet, lo up, tsrun0 with the gateway, masquerade and port rules', async () => {
    const c = await Netns.make();
    const id = newId();
    const result = await add(host, stateDir, attachment(id, c.path, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]));
    const { ip, prefix, gateway, hostVeth } = addressOf(result);
    assert.ok(overlaps(parsePrefix(ip)!, parsePrefix(subnet)!), `${ip} in ${subnet}`);
    assert.match(c.must('ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'), new RegExp(` inet ${prefix.replace(/\./g, '\\.')} `));
    assert.match(c.must('ip', '-o', 'link', 'show', 'dev', 'lo'), /[<,]UP[,>]/);
    assert.match(host.must('ip', '-o', '-d', 'link', 'show', 'dev', 'tsrun0'), / bridge /);
    assert.match(host.must('ip', '-o', '-4', 'addr', 'show', 'dev', 'tsrun0'), new RegExp(` inet ${gateway.replace(/\./g, '\\.')}/24 `));
    assert.ok(linkExists(host, hostVeth));
    assert.deepEqual(leases(stateDir, id), [ip]);

    const nat = host.must('iptables', '-t', 'nat', '-S');
    const masq = new RegExp(`^-A POSTROUTING -s ${ip}/32 -m comment --comment "name: \\\\"tsrun\\\\" id: \\\\"${id}\\\\"" -j (CNI-\\S+)$`, 'm').exec(nat);
    assert.ok(masq, `a POSTROUTING rule for ${ip} in\n${nat}`);
    assert.match(nat, new RegExp(`^-A ${masq[1]} ! -d 224\\.0\\.0\\.0/4 .*-j MASQUERADE$`, 'm'));
    assert.match(nat, new RegExp(`-j DNAT --to-destination ${ip}:80$`, 'm'));
    assert.match(host.must('iptables', '-S'), new RegExp(`^-A CNI-FORWARD -s ${ip}/32 -j ACCEPT$`, 'm'));

    c.must('busybox', 'ping', '-c', '1', '-W', '5', gateway);
    await del(host, stateDir, attachment(id, c.path), result);
    c.kill();
  });

  it('publishes a port on the host\'s 127.0.0.1 (portmap sets route_localnet on the bridge)', async () => {
    const c = await Netns.make();
    const id = newId();
    const result = await add(host, stateDir, attachment(id, c.path, [{ hostPort: 8081, containerPort: 81, protocol: 'tcp' }]));
    assert.equal(host.must('sysctl', '-n', 'net.ipv4.conf.tsrun0.route_localnet').trim(), '1');
    const server = spawn('nsenter', [`--net=${c.path}`, 'busybox', 'nc', '-l', '-p', '81'], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      let heard = '';
      server.stdout!.on('data', (d: Buffer) => (heard += d.toString()));
      server.stdin!.end('hello from the container\n');
      await waitFor('the listener on port 81', () => /:0051 0+:0000 0A /.test(c.must('cat', '/proc/net/tcp', '/proc/net/tcp6')));
      const client = host.run('busybox', 'sh', '-c', 'echo hello from the host | busybox nc -w 5 127.0.0.1 8081');
      assert.equal(client.stdout, 'hello from the container\n', client.stderr);
      await waitFor('the container to hear the host', () => heard === 'hello from the host\n');
    } finally {
      server.kill('SIGKILL');
    }
    assert.deepEqual(await del(host, stateDir, attachment(id, c.path), result), []);
    c.kill();
  });

  it('DEL with the namespace: removes the veth, the lease and the rules; a second DEL is harmless', async () => {
    const c = await Netns.make();
    const id = newId();
    const att = attachment(id, c.path, [{ hostPort: 8082, containerPort: 80, protocol: 'tcp' }]);
    const result = await add(host, stateDir, att);
    const { ip, hostVeth } = addressOf(result);
    const chains = chainsOf(host, id);
    assert.equal(chains.length, 2, `a masquerade and a DNAT chain: ${chains.join(' ')}`);
    assert.ok(rulesFor(host, ip, chains).length >= 6, 'the check sees the rules');

    assert.deepEqual(await del(host, stateDir, att, result), []);
    assert.equal(linkExists(c, 'eth0'), false);
    assert.equal(linkExists(host, hostVeth), false);
    assert.deepEqual(leases(stateDir, id), []);
    assert.deepEqual(rulesFor(host, ip, chains), []);
    assert.deepEqual(await del(host, stateDir, att, result), []);
    assert.deepEqual(await del(host, stateDir, att, null), []);
    c.kill();
  });

  it('DEL after the container\'s namespace is gone (netns ""): the lease and the nat and filter rules still go', async () => {
    const c = await Netns.make();
    const id = newId();
    const att = attachment(id, c.path, [{ hostPort: 8083, containerPort: 80, protocol: 'tcp' }]);
    const result = await add(host, stateDir, att);
    const { ip, hostVeth } = addressOf(result);
    const chains = chainsOf(host, id);
    assert.equal(chains.length, 2, `a masquerade and a DNAT chain: ${chains.join(' ')}`);
    c.kill();
    await waitFor('the host veth end to go with the namespace', () => !linkExists(host, hostVeth));

    const gone = { ...att, netns: '' };
    assert.deepEqual(await del(host, stateDir, gone, result), []);
    assert.deepEqual(leases(stateDir, id), []);
    assert.deepEqual(rulesFor(host, ip, chains), [], 'the bridge plugin leaves its masquerade rule here; the runner removes it');
    assert.deepEqual(await del(host, stateDir, gone, result), []);
  });

  it('undoes a failed ADD with the real plugins: when portmap refuses, what bridge made (veth, lease, masquerade) goes', async () => {
    const c = await Netns.make();
    const id = newId();
    const a = await driver(host, { op: 'add', stateDir, att: attachment(id, c.path, [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }]) });
    assert.ok('error' in a, JSON.stringify(a));
    assert.match(a.error, /^network "tsrun": plugin "portmap" \(ADD\): failed to parse config: Invalid host port number: 0/);
    assert.equal(linkExists(c, 'eth0'), false);
    assert.deepEqual(leases(stateDir, id), []);
    assert.equal(host.must('iptables', '-t', 'nat', '-S').includes(`id: \\"${id}\\"`), false);
    c.kill();
  });

  it('5 ADDs in parallel processes get 5 distinct addresses, and 5 DELs free them', async () => {
    const containers = await Promise.all([1, 2, 3, 4, 5].map(() => Netns.make()));
    const atts = containers.map((c) => attachment(newId(), c.path));
    const results = await Promise.all(atts.map((att) => add(host, stateDir, att)));
    const ips = results.map((r) => addressOf(r).ip);
    assert.equal(new Set(ips).size, 5, ips.join(' '));
    for (const ip of ips) assert.ok(overlaps(parsePrefix(ip)!, parsePrefix(subnet)!), `${ip} in ${subnet}`);
    const ids = atts.map((a) => a.containerId);
    assert.deepEqual(leases(stateDir, ...ids), [...ips].sort());
    const failures = await Promise.all(atts.map((att, i) => del(host, stateDir, att, results[i])));
    assert.deepEqual(failures.flat(), []);
    assert.deepEqual(leases(stateDir, ...ids), []);
    for (const c of containers) c.kill();
  });
});

describe('the default network\'s subnet, read from a namespace in use', function () {
  this.timeout(60000);
  let work: string;
  after(() => {
    for (const ns of [...live]) ns.kill();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('passes over prefixes with an address or a route, then keeps the choice', async () => {
    work = mkdtempSync(join(tmpdir(), 'tsrun-cni-subnet-'));
    const host = await Netns.make();
    host.must('ip', 'addr', 'add', '10.89.0.77/24', 'dev', 'lo');
    host.must('ip', 'route', 'add', 'blackhole', '10.89.1.0/24');
    const first = await driver(host, { op: 'default', stateDir: work });
    assert.deepEqual(first, { file: join(work, 'default.conflist'), subnet: '10.89.2.0/24' });
    host.must('ip', 'route', 'add', 'blackhole', '10.89.2.0/24');
    assert.deepEqual(await driver(host, { op: 'default', stateDir: work }), first, 'read back, not chosen again');
    host.kill();
  });
});
