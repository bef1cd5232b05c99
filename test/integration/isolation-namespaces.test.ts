// Namespaces, checked from inside real containers: uts, pid, network,
// cgroup, ipc and mount are new; joined namespaces (another container's, or
// one made by unshare(1) on the host) are really shared; time offsets apply;
// --no-pivot still shows only the rootfs. Each test cleans up and proves
// nothing was left behind (see isolation-common.ts).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { addNamespace, isolated, lines, nsLink, waitFor } from './isolation-common';

const NEW_KINDS = ['ipc', 'mnt', 'net', 'pid', 'uts', 'cgroup'];
const PRINT_NS = 'for n in ipc mnt net pid uts cgroup; do echo "$n $(readlink /proc/self/ns/$n)"; done';

function parseNs(output: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const line of lines(output)) {
    const m = /^(\w+) (\w+:\[\d+\])$/.exec(line);
    if (m) found[m[1]] = m[2];
  }
  return found;
}

describe('isolation: namespaces', function () {
  this.timeout(60000);

  it('creates every configured namespace anew (ipc, mnt, net, pid, uts, cgroup)', isolated((fx) => {
    const r = fx.runOk(fx.bundle(['sh', '-c', PRINT_NS]));
    const inside = parseNs(r.stdout);
    for (const kind of NEW_KINDS) {
      assert.ok(inside[kind], `no ${kind} namespace printed in ${JSON.stringify(r.stdout)}`);
      assert.notEqual(inside[kind], nsLink('self', kind), `the container shares the host's ${kind} namespace`);
    }
  }));

  it('sets hostname and domainname in its own uts namespace, leaving the host alone', isolated((fx) => {
    const hostBefore = hostname();
    const domainBefore = readFileSync('/proc/sys/kernel/domainname', 'utf8');
    const bundle = fx.bundle(['sh', '-c', 'hostname; cat /proc/sys/kernel/domainname; uname -n'], (spec) => {
      spec.hostname = 'iso-host';
      spec.domainname = 'iso.example';
    });
    const r = fx.runOk(bundle);
    assert.deepEqual(lines(r.stdout), ['iso-host', 'iso.example', 'iso-host']);
    assert.equal(hostname(), hostBefore);
    assert.equal(readFileSync('/proc/sys/kernel/domainname', 'utf8'), domainBefore);
  }));

  it('runs the process as pid 1 of a new pid namespace where host processes are invisible', isolated((fx) => {
    const hostPid = process.pid;
    const script = `echo "self $$"; echo "ppid $PPID"; ls /proc; test -e /proc/${hostPid} && echo host-pid-visible || echo host-pid-hidden`;
    const r = fx.runOk(fx.bundle(['sh', '-c', script]));
    const out = lines(r.stdout);
    assert.ok(out.includes('self 1'), `$$ is not 1: ${r.stdout}`);
    assert.ok(out.includes('ppid 0'), `pid 1 has a parent: ${r.stdout}`);
    assert.ok(out.includes('host-pid-hidden'), `the host's pid ${hostPid} is visible inside`);
    const pids = out.filter((l) => /^\d+$/.test(l)).map(Number);
    // sh (1) and the ls it runs; nothing of the host.
    assert.ok(pids.includes(1), `no /proc/1 inside: ${pids.join(' ')}`);
    assert.ok(pids.length <= 3 && pids.every((p) => p < 10), `host pids visible in /proc: ${pids.join(' ')}`);
    assert.ok(hostPid >= 10, 'the mocha pid is too small for this check to mean anything');
  }));

  it('has its own network namespace with only lo, and lo is up', isolated((fx) => {
    const hostInterfaces = readdirSync('/sys/class/net');
    const script = [
      'echo "ifaces $(ls /sys/class/net | tr "\\n" " ")"',
      'echo "flags $(cat /sys/class/net/lo/flags)"',
      'ip link show lo',
      'tail -n +3 /proc/net/dev | cut -d: -f1',
      // With lo up, a connection to a closed port is refused at once; with lo
      // down it would hang until the timeout.
      'timeout 5 nc 127.0.0.1 1 2>&1; true',
    ].join('; ');
    const r = fx.runOk(fx.bundle(['sh', '-c', script]));
    const out = lines(r.stdout);
    assert.deepEqual(out.find((l) => l.startsWith('ifaces'))?.split(/\s+/).slice(1), ['lo'], r.stdout);
    const flags = Number(out.find((l) => l.startsWith('flags'))?.split(' ')[1]);
    assert.equal(flags & 0x1, 0x1, `IFF_UP not set on lo: ${r.stdout}`);
    assert.match(r.stdout, /lo: <[^>]*\bUP\b[^>]*>/);
    assert.match(r.stdout, /Connection refused/, `connecting to 127.0.0.1 did not reach a live lo: ${r.stdout}`);
    // /proc/net/dev lists the interfaces of the container's namespace only.
    for (const name of hostInterfaces.filter((n) => n !== 'lo')) {
      assert.ok(!out.includes(name), `host interface ${name} visible inside: ${r.stdout}`);
    }
  }));

  it('has its own cgroup namespace rooted at the container cgroup', isolated((fx) => {
    const r = fx.runOk(fx.bundle(['sh', '-c', 'readlink /proc/self/ns/cgroup; cat /proc/self/cgroup']));
    const [link, ...cgroups] = lines(r.stdout);
    assert.match(link, /^cgroup:\[\d+\]$/);
    assert.notEqual(link, nsLink('self', 'cgroup'));
    assert.ok(cgroups.length > 0, r.stdout);
    for (const line of cgroups) assert.match(line, /^\d+:[^:]*:\/$/, `cgroup path not "/" inside the namespace: ${line}`);
  }));

  it("shares the net, ipc and uts namespaces of a running container it joins", isolated(async (fx) => {
    const first = fx.detach(
      fx.bundle(['sh', '-c', `${PRINT_NS}; echo ready; exec sleep 1000`], (spec) => {
        spec.hostname = 'first-host';
      }),
    );
    await waitFor('the first container to start', () => first.stdout().includes('ready'));
    const firstNs = parseNs(first.stdout());
    for (const kind of ['net', 'ipc', 'uts']) assert.equal(firstNs[kind], nsLink(first.pid, kind));

    const second = fx.bundle(['sh', '-c', `${PRINT_NS}; echo "host $(hostname)"`], (spec) => {
      delete spec.hostname;
      addNamespace(spec, 'network', `/proc/${first.pid}/ns/net`);
      addNamespace(spec, 'ipc', `/proc/${first.pid}/ns/ipc`);
      addNamespace(spec, 'uts', `/proc/${first.pid}/ns/uts`);
    });
    const r = fx.runOk(second);
    const secondNs = parseNs(r.stdout);
    for (const kind of ['net', 'ipc', 'uts']) {
      assert.equal(secondNs[kind], firstNs[kind], `${kind} namespace not shared`);
      assert.notEqual(secondNs[kind], nsLink('self', kind));
    }
    // The namespaces not joined are still the second container's own.
    for (const kind of ['pid', 'mnt']) assert.notEqual(secondNs[kind], firstNs[kind], `${kind} namespace shared but not asked for`);
    assert.ok(lines(r.stdout).includes('host first-host'), `the joined uts namespace shows another hostname: ${r.stdout}`);
  }));

  it('joins uts and net namespaces that unshare(1) made on the host', isolated(async (fx) => {
    const helper = fx.helper('unshare', ['--uts', '--net', 'sh', '-c', 'hostname unshared-uts && exec sleep 1000']);
    const pid = helper.pid!;
    await waitFor('the unshare helper to be ready', () => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
      } catch {
        return false;
      }
    });
    const utsLink = nsLink(pid, 'uts');
    const netLink = nsLink(pid, 'net');
    assert.notEqual(utsLink, nsLink('self', 'uts'));
    assert.notEqual(netLink, nsLink('self', 'net'));

    const bundle = fx.bundle(['sh', '-c', `${PRINT_NS}; echo "host $(hostname)"; echo "ifaces $(ls /sys/class/net)"`], (spec) => {
      delete spec.hostname;
      addNamespace(spec, 'uts', `/proc/${pid}/ns/uts`);
      addNamespace(spec, 'network', `/proc/${pid}/ns/net`);
    });
    const r = fx.runOk(bundle);
    const inside = parseNs(r.stdout);
    assert.equal(inside.uts, utsLink);
    assert.equal(inside.net, netLink);
    assert.ok(lines(r.stdout).includes('host unshared-uts'), r.stdout);
    assert.ok(lines(r.stdout).includes('ifaces lo'), r.stdout);
    assert.notEqual(hostname(), 'unshared-uts');
  }));

  it('applies time namespace offsets to the container clocks', isolated(function (this: Mocha.Context, fx) {
    if (!existsSync('/proc/self/ns/time')) this.skip();
    // Different values, to tell the clocks apart; /proc/uptime follows boottime.
    const monotonic = 86400 * 10;
    const boottime = 86400 * 11;
    const hostBefore = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const bundle = fx.bundle(['sh', '-c', 'readlink /proc/self/ns/time; cut -d" " -f1 /proc/uptime; cat /proc/self/timens_offsets'], (spec) => {
      addNamespace(spec, 'time');
      spec.linux!.timeOffsets = { monotonic: { secs: monotonic }, boottime: { secs: boottime, nanosecs: 0 } };
    });
    const r = fx.runOk(bundle);
    const hostAfter = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const [link, uptime, ...offsets] = lines(r.stdout);
    assert.match(link, /^time:\[\d+\]$/);
    assert.notEqual(link, nsLink('self', 'time'));
    assert.deepEqual(
      offsets.map((l) => l.split(/\s+/)),
      [
        ['monotonic', String(monotonic), '0'],
        ['boottime', String(boottime), '0'],
      ],
    );
    const inside = Number(uptime);
    assert.ok(inside >= monotonic, `uptime inside ${uptime} is below the offset`);
    assert.ok(inside >= hostBefore + boottime - 1 && inside <= hostAfter + boottime + 1, `uptime inside ${inside}, host ${hostBefore}..${hostAfter}`);
  }));

  it('with --no-pivot still runs with the rootfs as /', isolated((fx) => {
    const bundle = fx.bundle(['sh', '-c', 'cat /marker; ls /; test -e /work && echo host-root-visible || echo host-root-hidden; echo "self $$"']);
    const marker = `marker-${process.pid}-${Date.now()}`;
    writeFileSync(join(bundle.rootfs, 'marker'), marker + '\n');
    assert.ok(existsSync('/work'), 'the host has no /work, so the check below would prove nothing');
    const r = fx.runOk(bundle, { extra: ['--no-pivot'] });
    const out = lines(r.stdout);
    assert.equal(out[0], marker);
    assert.ok(out.includes('host-root-hidden'), r.stdout);
    assert.ok(out.includes('bin') && out.includes('etc') && !out.includes('work'), r.stdout);
    assert.ok(out.includes('self 1'), r.stdout);
  }));
});
