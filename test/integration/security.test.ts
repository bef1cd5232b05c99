// The process' security settings, read back from inside real containers:
// capability sets, no_new_privs, rlimits, oom_score_adj, sysctls, masked and
// read-only paths, I/O priority, scheduler, personality, and the LSM fields
// on a host without an LSM. Each config error is one line, exit 1, nothing left.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isolated, lines, removeNamespace, clip } from './isolation-common';
import { assertRefused, capFields, capMask, readHost, specBundle, statusFields } from './security-common';

describe('security: process settings seen from inside the container', function () {
  this.timeout(60000);

  describe('capabilities', () => {
    it('shows the configured bounding, permitted, effective and inheritable sets in /proc/self/status', isolated((fx) => {
      const bounding = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_AUDIT_WRITE', 'CAP_SYSLOG', 'CAP_WAKE_ALARM'];
      const permitted = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SYSLOG'];
      const inheritable = ['CAP_KILL', 'CAP_SYSLOG'];
      // Root's execve grants bounding|inheritable unless no_new_privs keeps
      // it to what it had (the default spec's noNewPrivileges: true).
      const r = fx.runOk(fx.bundle(['cat', '/proc/self/status'], (spec) => {
        spec.process!.capabilities = { bounding, permitted, effective: permitted, inheritable, ambient: [] };
      }));
      assert.deepEqual(capFields(r.stdout), {
        CapInh: capMask(inheritable),
        CapPrm: capMask(permitted),
        CapEff: capMask(permitted),
        CapBnd: capMask(bounding),
        CapAmb: capMask([]),
      });
    }));

    it('lets uid 1000 keep an ambient+inheritable CAP_NET_BIND_SERVICE (and not without ambient)', isolated((fx) => {
      const bounding = ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'];
      const nbs = ['CAP_NET_BIND_SERVICE'];
      const withAmbient = fx.runOk(fx.bundle(['sh', '-c', 'id -u; cat /proc/self/status'], (spec) => {
        spec.process!.user = { uid: 1000, gid: 1000 };
        spec.process!.capabilities = { bounding, permitted: nbs, effective: nbs, inheritable: nbs, ambient: nbs };
      }));
      assert.equal(lines(withAmbient.stdout)[0], '1000');
      assert.deepEqual(capFields(withAmbient.stdout), { CapInh: capMask(nbs), CapPrm: capMask(nbs), CapEff: capMask(nbs), CapBnd: capMask(bounding), CapAmb: capMask(nbs) });

      const without = fx.runOk(fx.bundle(['cat', '/proc/self/status'], (spec) => {
        spec.process!.user = { uid: 1000, gid: 1000 };
        spec.process!.capabilities = { bounding, permitted: nbs, effective: nbs, inheritable: nbs };
      }));
      assert.deepEqual(capFields(without.stdout), { CapInh: capMask(nbs), CapPrm: capMask([]), CapEff: capMask([]), CapBnd: capMask(bounding), CapAmb: capMask([]) });
    }));

    it('refuses an unknown capability name with one line naming /process/capabilities/<set>/<i>', isolated((fx) => {
      const bundle = fx.bundle(['true'], (spec) => spec.process!.capabilities!.permitted!.push('CAP_NOT_A_CAPABILITY'));
      const r = fx.run(bundle);
      assertRefused(fx, bundle, r, '/process/capabilities/permitted/3', 'CAP_NOT_A_CAPABILITY');
    }));
  });

  it('sets NoNewPrivs to 1 with noNewPrivileges and leaves it 0 without', isolated((fx) => {
    for (const [nnp, expected] of [[true, '1'], [false, '0']] as const) {
      const r = fx.runOk(fx.bundle(['cat', '/proc/self/status'], (spec) => (spec.process!.noNewPrivileges = nnp)));
      assert.equal(statusFields(r.stdout).NoNewPrivs, expected, `noNewPrivileges ${nnp}`);
    }
  }));

  describe('rlimits', () => {
    it('shows the configured limits in /proc/self/limits', isolated((fx) => {
      const r = fx.runOk(fx.bundle(['sh', '-c', 'cat /proc/$$/limits; echo "ulimit $(ulimit -n)"'], (spec) => {
        spec.process!.rlimits = [
          { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 },
          { type: 'RLIMIT_NPROC', soft: 700, hard: 800 },
          { type: 'RLIMIT_CORE', soft: 1048576, hard: 2097152 },
        ];
      }));
      const limit = (name: string): string[] => {
        const line = lines(r.stdout).find((l) => l.startsWith(name));
        assert.ok(line, `${name} in ${clip(r.stdout)}`);
        return line.slice(name.length).trim().split(/\s+/).slice(0, 2);
      };
      assert.deepEqual(limit('Max open files'), ['1024', '2048']);
      assert.deepEqual(limit('Max processes'), ['700', '800']);
      assert.deepEqual(limit('Max core file size'), ['1048576', '2097152']);
      assert.ok(lines(r.stdout).includes('ulimit 1024'));
    }));

    it('fails clearly, leaving nothing, when a hard limit is above what the host allows', isolated((fx) => {
      const nrOpen = Number(readFileSync('/proc/sys/fs/nr_open', 'utf8'));
      const bundle = fx.bundle(['true'], (spec) => (spec.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: nrOpen * 4 }]));
      const r = fx.run(bundle);
      assertRefused(fx, bundle, r, 'setrlimit', 'RLIMIT_NOFILE');
    }));
  });

  it('writes process.oomScoreAdj to /proc/self/oom_score_adj', isolated((fx) => {
    const own = readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
    const r = fx.runOk(fx.bundle(['cat', '/proc/self/oom_score_adj'], (spec) => (spec.process!.oomScoreAdj = 500)));
    assert.equal(r.stdout.trim(), '500');
    assert.equal(readFileSync('/proc/self/oom_score_adj', 'utf8').trim(), own, "the caller's own score is unchanged");
  }));

  describe('sysctl', () => {
    const SHMMAX = '/proc/sys/kernel/shmmax';
    const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

    it('sets ipc and net sysctls in the container namespaces, not on the host', isolated((fx) => {
      const hostShmmax = readFileSync(SHMMAX, 'utf8').trim();
      const hostForward = readFileSync(IP_FORWARD, 'utf8').trim();
      const shmmax = hostShmmax === '123456789' ? '987654321' : '123456789';
      const forward = hostForward === '1' ? '0' : '1';
      const r = fx.runOk(fx.bundle(['cat', SHMMAX, IP_FORWARD], (spec) => {
        spec.linux!.sysctl = { 'kernel.shmmax': shmmax, 'net.ipv4.ip_forward': forward };
      }));
      assert.deepEqual(lines(r.stdout), [shmmax, forward]);
      assert.equal(readFileSync(SHMMAX, 'utf8').trim(), hostShmmax);
      assert.equal(readFileSync(IP_FORWARD, 'utf8').trim(), hostForward);
    }));

    it('refuses a sysctl that is not namespaced, or whose namespace the container shares', isolated((fx) => {
      const hostPanic = readFileSync('/proc/sys/kernel/panic', 'utf8');
      const hostForward = readFileSync(IP_FORWARD, 'utf8');
      const panic = fx.bundle(['true'], (spec) => (spec.linux!.sysctl = { 'kernel.panic': '17' }));
      assertRefused(fx, panic, fx.run(panic), '/linux/sysctl/kernel.panic');
      const net = fx.bundle(['true'], (spec) => {
        spec.linux!.sysctl = { 'net.ipv4.ip_forward': hostForward.trim() === '1' ? '0' : '1' };
        removeNamespace(spec, 'network');
      });
      assertRefused(fx, net, fx.run(net), '/linux/sysctl/net.ipv4.ip_forward');
      assert.equal(readFileSync('/proc/sys/kernel/panic', 'utf8'), hostPanic);
      assert.equal(readFileSync(IP_FORWARD, 'utf8'), hostForward);
    }));
  });

  describe('masked and read-only paths', () => {
    // For each path: "<path> dir <entries>", "<path> file <bytes>" or "<path> missing".
    const DESCRIBE = 'for p in "$@"; do if [ -d "$p" ]; then echo "$p dir $(ls -A "$p" | wc -l)"; elif [ -e "$p" ]; then echo "$p file $(cat "$p" | wc -c)"; else echo "$p missing"; fi; done';

    it("applies the masked paths of `tsrun spec`: files read empty, directories list nothing", isolated((fx) => {
      let masked: string[] = [];
      const bundle = specBundle(fx, ['true'], (spec) => (masked = spec.linux!.maskedPaths!));
      // The defaults must hide things this host has, or the check proves nothing.
      assert.ok(masked.includes('/proc/timer_list') && masked.includes('/sys/firmware'));
      assert.ok(readFileSync('/proc/timer_list', 'utf8').length > 0);
      assert.ok(readdirSync('/sys/firmware').length > 0);
      const spec = JSON.parse(readFileSync(bundle.configPath, 'utf8'));
      spec.process.args = ['sh', '-c', DESCRIBE, 'sh', ...masked];
      bundle.writeConfig(spec);
      const r = fx.runOk(bundle);
      const seen = lines(r.stdout);
      assert.equal(seen.length, masked.length, clip(r.stdout));
      for (const line of seen) {
        const [path, kind, size] = line.split(' ');
        if (kind !== 'missing') assert.equal(size, '0', `${path} is a ${kind} with ${size} bytes/entries inside`);
      }
      assert.ok(seen.includes('/proc/timer_list file 0'));
      assert.ok(seen.includes('/sys/firmware dir 0'), clip(r.stdout));
    }));

    it('masks a bound-in file and directory of the container', isolated((fx) => {
      const host = fx.dir();
      writeFileSync(join(host, 'secret.txt'), 'top secret\n');
      mkdirSync(join(host, 'dir'));
      writeFileSync(join(host, 'dir', 'inner'), 'inner secret\n');
      const args = ['sh', '-c', `${DESCRIBE}; echo x > /srv/dir/new && echo wrote-masked-dir`, 'sh', '/srv/secret.txt', '/srv/dir'];
      const mounts = [
        { destination: '/srv/secret.txt', type: 'bind', source: join(host, 'secret.txt'), options: ['bind'] },
        { destination: '/srv/dir', type: 'bind', source: join(host, 'dir'), options: ['bind'] },
      ];
      const unmasked = fx.runOk(fx.bundle(args, (spec) => spec.mounts!.push(...mounts)));
      assert.deepEqual(lines(unmasked.stdout), ['/srv/secret.txt file 11', '/srv/dir dir 1', 'wrote-masked-dir']);
      const r = fx.run(fx.bundle(args, (spec) => {
        spec.mounts!.push(...mounts);
        spec.linux!.maskedPaths = ['/srv/secret.txt', '/srv/dir'];
      }));
      assert.deepEqual(lines(r.stdout), ['/srv/secret.txt file 0', '/srv/dir dir 0']);
      assert.match(r.stderr, /Read-only file system/);
      assert.deepEqual(readFileSync(join(host, 'secret.txt'), 'utf8'), 'top secret\n');
    }));

    it('makes the read-only paths of `tsrun spec` refuse writes with "Read-only file system"', isolated((fx) => {
      let readonly: string[] = [];
      const bundle = specBundle(fx, ['true'], (spec) => (readonly = spec.linux!.readonlyPaths!));
      assert.ok(readonly.includes('/proc/sys'));
      const spec = JSON.parse(readFileSync(bundle.configPath, 'utf8'));
      spec.process.args = ['sh', '-c', 'cat /proc/self/mountinfo; echo ==; echo evil > /proc/sys/kernel/hostname; hostname'];
      bundle.writeConfig(spec);
      const r = fx.run(bundle);
      const [mountinfo, after] = r.stdout.split('==\n');
      assert.match(r.stderr, /\/proc\/sys\/kernel\/hostname: Read-only file system/);
      assert.equal(after.trim(), spec.hostname);
      for (const path of readonly) {
        const entry = lines(mountinfo).map((l) => l.split(' ')).filter((f) => f[4] === path).pop();
        if (entry === undefined) continue; // a path this kernel lacks is skipped, as runc does
        assert.ok(entry[5].split(',').includes('ro'), `${path} mounted ${entry[5]}`);
      }
    }));

    it('makes a bound-in writable directory read-only when listed in readonlyPaths', isolated((fx) => {
      const host = fx.dir();
      const args = ['sh', '-c', 'echo data > /data/file && echo wrote'];
      const mount = { destination: '/data', type: 'bind', source: host, options: ['rbind', 'rw'] };
      assert.deepEqual(lines(fx.runOk(fx.bundle(args, (spec) => spec.mounts!.push(mount))).stdout), ['wrote']);
      const r = fx.run(fx.bundle(args, (spec) => {
        spec.mounts!.push(mount);
        spec.linux!.readonlyPaths = ['/data'];
      }));
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Read-only file system/);
      assert.equal(readFileSync(join(host, 'file'), 'utf8'), 'data\n', 'only the first, writable run wrote');
    }));
  });

  describe('I/O priority, scheduler, personality', () => {
    /** Fields of /proc/<pid>/stat after the command name: [0] is field 3 (state). */
    const statFields = (line: string): string[] => line.slice(line.lastIndexOf(')') + 2).split(' ');

    it('applies ioPriority IOPRIO_CLASS_IDLE (ionice) and SCHED_BATCH with nice 5 (/proc/self/stat)', isolated((fx) => {
      const r = fx.runOk(fx.bundle(['sh', '-c', 'ionice -p $$; cat /proc/$$/stat'], (spec) => {
        spec.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
        spec.process!.scheduler = { policy: 'SCHED_BATCH', nice: 5 };
      }));
      const [io, stat] = lines(r.stdout);
      assert.match(io, /^idle/);
      const f = statFields(stat);
      assert.equal(f[41 - 3], '3', 'policy SCHED_BATCH');
      assert.equal(f[19 - 3], '5', 'nice');
    }));

    it('applies SCHED_IDLE and, by default, leaves SCHED_OTHER and the best-effort class', isolated((fx) => {
      const idle = fx.runOk(fx.bundle(['cat', '/proc/self/stat'], (spec) => (spec.process!.scheduler = { policy: 'SCHED_IDLE' })));
      assert.equal(statFields(idle.stdout.trim())[41 - 3], '5');
      const plain = fx.runOk(fx.bundle(['sh', '-c', 'ionice -p $$; cat /proc/$$/stat']));
      const [io, stat] = lines(plain.stdout);
      assert.doesNotMatch(io, /^idle/);
      assert.equal(statFields(stat)[41 - 3], '0');
    }));

    it('applies SCHED_DEADLINE with runtime, deadline and period; SCHED_FLAG_RESET_ON_FORK lets it fork a SCHED_OTHER child', isolated((fx) => {
      const sched = (text: string, key: string): string | undefined => new RegExp(`^${key.replace('.', '\\.')}\\s*:\\s*(\\d+)`, 'm').exec(text)?.[1];
      const deadline = { policy: 'SCHED_DEADLINE', runtime: 10_000_000, deadline: 30_000_000, period: 30_000_000 } as const;
      const own = fx.runOk(fx.bundle(['cat', '/proc/self/sched'], (spec) => (spec.process!.scheduler = { ...deadline })));
      assert.equal(sched(own.stdout, 'policy'), '6');
      // dl.runtime is what is left of this period's budget: at most the configured runtime.
      const left = Number(sched(own.stdout, 'dl.runtime'));
      assert.ok(left > 0 && left <= 10_000_000, `dl.runtime ${left}`);
      // deadline and period reach the kernel: one past the other is its EINVAL, in one line.
      const bad = fx.run(fx.bundle(['true'], (spec) => (spec.process!.scheduler = { ...deadline, period: 20_000_000 })));
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /config\.json: \/process\/scheduler: sched_setattr\(policy 6\): EINVAL/);
      assert.equal(lines(bad.stderr).length, 1, bad.stderr);
      // A deadline task may not fork (EAGAIN) unless reset-on-fork, which gives the child SCHED_OTHER.
      const script = 'grep -E "^policy" /proc/self/sched; grep -E "^policy" /proc/$$/sched';
      const forked = fx.runOk(fx.bundle(['sh', '-c', script], (spec) => (spec.process!.scheduler = { ...deadline, flags: ['SCHED_FLAG_RESET_ON_FORK'] })));
      assert.deepEqual(lines(forked.stdout).map((l) => l.split(':')[1].trim()), ['0', '6']);
    }));

    it('runs with personality LINUX32: uname -m is the 32-bit machine', isolated(function (fx) {
      const expected: Record<string, string> = { x64: 'i686', arm64: 'armv8l' };
      if (!expected[process.arch]) this.skip();
      const r = fx.runOk(fx.bundle(['sh', '-c', 'uname -m; cat /proc/$$/personality'], (spec) => (spec.linux!.personality = { domain: 'LINUX32' })));
      assert.deepEqual(lines(r.stdout), [expected[process.arch], '00000008']);
      const native = fx.runOk(fx.bundle(['uname', '-m']));
      assert.notEqual(native.stdout.trim(), expected[process.arch]);
    }));
  });

  describe('LSM fields on a host without AppArmor or SELinux', () => {
    const lsms = (readHost('/sys/kernel/security/lsm') ?? '').trim().split(',');

    it('refuses apparmorProfile with one line, leaving nothing', isolated(function (fx) {
      if (lsms.includes('apparmor')) this.skip();
      const bundle = fx.bundle(['true'], (spec) => (spec.process!.apparmorProfile = 'tsrun-test-profile'));
      assertRefused(fx, bundle, fx.run(bundle), '/process/apparmorProfile', 'tsrun-test-profile');
    }));

    it('refuses selinuxLabel with one line, leaving nothing', isolated(function (fx) {
      if (lsms.includes('selinux')) this.skip();
      const bundle = fx.bundle(['true'], (spec) => (spec.process!.selinuxLabel = 'system_u:system_r:container_t:s0'));
      assertRefused(fx, bundle, fx.run(bundle), '/process/selinuxLabel');
    }));

    it('refuses linux.mountLabel with one line, leaving nothing; an empty one is no label', isolated(function (fx) {
      if (lsms.includes('selinux')) this.skip();
      const bundle = fx.bundle(['true'], (spec) => (spec.linux!.mountLabel = 'system_u:object_r:container_file_t:s0'));
      assertRefused(fx, bundle, fx.run(bundle), '/linux/mountLabel', 'container_file_t');
      fx.runOk(fx.bundle(['true'], (spec) => (spec.linux!.mountLabel = '')));
    }));
  });
});
