// linux.netDevices for real. tsrun runs inside a network namespace this
// suite makes (`ip netns add`, entered with `nsenter --net`), so the "host"
// whose interfaces move is the suite's own namespace: no host interface is
// touched, and removing the namespace at the end removes anything left in
// it, even after a failed test. This kernel has no dummy link type, so the
// moved interfaces are veth ends whose peers stay in the suite's namespace.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime, TSRUN, liveProcessesMentioning, makeBundle, tempDir, uniqueId, type Bundle } from '../helpers/harness';
import { waitFor } from './isolation-common';
import type { LinuxNamespace } from '../../src/spec/types';

const NS = `tsrun-nd-${process.pid}`;

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function ipNs(...args: string[]): string {
  const r = sh('ip', ['-n', NS, ...args]);
  if (r.status !== 0) throw new Error(`ip -n ${NS} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function linkExists(name: string): boolean {
  return sh('ip', ['-n', NS, 'link', 'show', 'dev', name]).status === 0;
}

/** tsrun in the suite's namespace; stdio to files, so a created init holding them does not block the wait. */
function tsrun(rt: Runtime, dir: string, args: string[]): { status: number | null; stderr: string } {
  const out = openSync(join(dir, 'tsrun.out'), 'w');
  const err = openSync(join(dir, 'tsrun.err'), 'w');
  try {
    const r = spawnSync('nsenter', [`--net=/run/netns/${NS}`, TSRUN, '--root', rt.root, ...args], { stdio: ['ignore', out, err], timeout: 30000 });
    return { status: r.status, stderr: readFileSync(join(dir, 'tsrun.err'), 'utf8') };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/** A veth pair in the suite's namespace, both ends up: `a` is the one to move. */
function vethPair(a: string, b: string): void {
  ipNs('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
  ipNs('link', 'set', a, 'up');
  ipNs('link', 'set', b, 'up');
}

function assertNothingLeft(rt: Runtime, id: string): void {
  assert.deepEqual(rt.leftoverStateDirs().filter((d) => !d.endsWith('.lock')), [], 'state dir left');
  assert.deepEqual(liveProcessesMentioning(id), [], 'process left');
}

describe('linux.netDevices', function () {
  this.timeout(60000);
  let rt: Runtime;
  let work: string;
  const bundles: Bundle[] = [];
  const suffix = String(process.pid % 100000);
  const [moved, peer, templ, templPeer] = [`ndA${suffix}`, `ndB${suffix}`, `ndC${suffix}`, `ndD${suffix}`];

  beforeEach(function () {
    assert.equal(sh('ip', ['netns', 'add', NS]).status, 0, 'ip netns add');
    rt = new Runtime();
    work = tempDir('tsrun-nd-');
  });

  afterEach(function () {
    rt.destroy();
    for (const b of bundles.splice(0)) b.remove();
    sh('ip', ['netns', 'del', NS]);
    sh('rm', ['-rf', work]);
  });

  function bundle(args: string[], netDevices: Record<string, { name?: string }>, out?: string): Bundle {
    const b = makeBundle(args, (spec) => {
      spec.linux!.netDevices = netDevices;
      if (out) spec.mounts!.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
    });
    bundles.push(b);
    return b;
  }

  it('moves interfaces renamed (a fixed name and a %d template) with their global addresses, up, into the container; the kernel ends them with it', async function () {
    vethPair(moved, peer);
    vethPair(templ, templPeer);
    ipNs('addr', 'add', '10.77.0.2/24', 'dev', moved);
    ipNs('addr', 'add', 'fd77::2/64', 'dev', moved, 'nodad');
    // Not of global scope: the spec keeps only global ones.
    ipNs('addr', 'add', '10.78.0.9/32', 'dev', moved, 'scope', 'link');
    const out = join(work, 'out');
    mkdirSync(out);
    const script = 'ip addr show > /out/addr.tmp; cat /proc/net/if_inet6 > /out/inet6; mv /out/addr.tmp /out/addr; sleep 600';
    const b = bundle(['sh', '-c', script], { [moved]: { name: 'ctr0' }, [templ]: { name: 'nd%d' } }, out);
    const id = uniqueId('nd');
    const created = tsrun(rt, work, ['create', '--bundle', b.dir, id]);
    assert.equal(created.status, 0, created.stderr);
    // Gone from the suite's side once created; the peers stay.
    assert.equal(linkExists(moved), false, `${moved} still in the runtime's namespace`);
    assert.equal(linkExists(templ), false, `${templ} still in the runtime's namespace`);
    assert.ok(linkExists(peer) && linkExists(templPeer));
    assert.equal(tsrun(rt, work, ['start', id]).status, 0);
    const addr = await waitFor('the container to list its interfaces', () => existsSync(join(out, 'addr')) && readFileSync(join(out, 'addr'), 'utf8'));
    const ctr0 = addr.split(/\n(?=\d+: )/).find((block) => /^\d+: ctr0[@:]/.test(block)) ?? '';
    assert.match(ctr0, /<[^>]*\bUP\b[^>]*>/, `ctr0 not up:\n${addr}`);
    assert.match(ctr0, /inet 10\.77\.0\.2\/24 .*scope global/);
    assert.match(ctr0, /inet6 fd77::2\/64 scope global/);
    assert.doesNotMatch(addr, /10\.78\.0\.9/, 'a link-scope address was kept');
    assert.match(addr, /^\d+: nd0[@:].*\bUP\b/m, `the template was not numbered nd0 and set up:\n${addr}`);
    assert.match(readFileSync(join(out, 'inet6'), 'utf8'), /^fd770+2 .* ctr0$/m);
    assert.equal(tsrun(rt, work, ['kill', id, 'KILL']).status, 0);
    await waitFor('the container to stop', () => rt.state(id).status === 'stopped');
    assert.equal(tsrun(rt, work, ['delete', id]).status, 0);
    // The spec: no move back at delete; the namespace dies and the kernel
    // destroys virtual devices, a veth with its peer.
    await waitFor('the kernel to destroy the moved veths with the namespace', () => !linkExists(peer) && !linkExists(templPeer));
    assert.equal(linkExists(moved) || linkExists(templ) || linkExists('ctr0'), false);
    assertNothingLeft(rt, id);
  });

  it('moves an interface into a container with its own user namespace (the network namespace is owned by it)', function () {
    vethPair(moved, peer);
    ipNs('addr', 'add', '10.77.0.2/24', 'dev', moved);
    const b = makeBundle(['ip', 'addr', 'show', 'dev', 'ctr0'], (spec) => {
      spec.linux!.netDevices = { [moved]: { name: 'ctr0' } };
      spec.linux!.namespaces!.push({ type: 'user' });
      // The identity map: the rootfs needs no chown, yet stage 1 is root of a
      // new user namespace, without the host's CAP_NET_ADMIN.
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
    });
    bundles.push(b);
    const id = uniqueId('nd');
    const r = tsrun(rt, work, ['run', '--bundle', b.dir, id]);
    assert.equal(r.status, 0, r.stderr);
    const out = readFileSync(join(work, 'tsrun.out'), 'utf8');
    assert.match(out, /^\d+: ctr0[@:].*\bUP\b/m, out);
    assert.match(out, /inet 10\.77\.0\.2\/24 .*scope global ctr0/);
    assertNothingLeft(rt, id);
  });

  it('a create that fails after the move leaves no state; the kernel ends the moved veth with the namespace, as at delete', async function () {
    vethPair(moved, peer);
    const b = bundle(['/no/such/program'], { [moved]: { name: 'ctr0' } });
    const id = uniqueId('nd');
    const r = tsrun(rt, work, ['create', '--bundle', b.dir, id]);
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /no\/such\/program/);
    assertNothingLeft(rt, id);
    await waitFor('the kernel to destroy the moved veth with the namespace', () => !linkExists(peer));
    assert.equal(linkExists(moved), false);
  });

  it('refuses an interface the runtime namespace lacks: one line, non-zero, nothing made', function () {
    vethPair(moved, peer);
    const b = bundle(['true'], { [moved]: {}, nosuch0: { name: 'x0' } });
    const id = uniqueId('nd');
    const r = tsrun(rt, work, ['create', '--bundle', b.dir, id]);
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr, 'tsrun: config.json: /linux/netDevices/nosuch0: no such network interface on the host\n');
    assert.ok(linkExists(moved), 'an interface was moved before the error');
    assertNothingLeft(rt, id);
  });

  for (const [what, edit, message] of [
    ['no network namespace', (ns: Array<{ type: string; path?: string }>) => ns.filter((n) => n.type !== 'network'), 'needs a "network" entry in /linux/namespaces'],
    [
      'a joined network namespace',
      (ns: Array<{ type: string; path?: string }>) => ns.map((n) => (n.type === 'network' ? { type: 'network', path: `/run/netns/${NS}` } : n)),
      'needs a new network namespace (the "network" entry of /linux/namespaces has a path)',
    ],
  ] as const) {
    it(`refuses ${what}: one line, non-zero, nothing made or moved`, function () {
      vethPair(moved, peer);
      const b = makeBundle(['true'], (spec) => {
        spec.linux!.netDevices = { [moved]: {} };
        spec.linux!.namespaces = edit(spec.linux!.namespaces!) as LinuxNamespace[];
      });
      bundles.push(b);
      const id = uniqueId('nd');
      const r = tsrun(rt, work, ['create', '--bundle', b.dir, id]);
      assert.notEqual(r.status, 0);
      assert.equal(r.stderr, `tsrun: config.json: /linux/netDevices: ${message}\n`);
      assert.ok(linkExists(moved));
      assertNothingLeft(rt, id);
    });
  }
});
