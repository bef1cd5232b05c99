// A container whose init is systemd, the systemd host of the --systemd-cgroup
// tests on a machine whose own init is not systemd (the tests must not touch
// a machine's init anyway): they boot one inside a tsrun container and run
// tsrun inside it (tsrun exec).
// The container sees the host's /usr and /etc read-only, the repository (for
// the launcher) and a work directory for inner bundles; /run, /tmp and /var
// are its own. systemd starts only an empty target from a unit directory of
// our own, so none of the host's services (containerd, podman, ...) start.
import { mkdirSync, symlinkSync, writeFileSync, readFileSync, realpathSync, rmSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Bundle, REPO, tempDir, mountsUnder } from './harness';
import { CAPABILITIES } from '../../src/linux/capability-names';
import type { Session, Output } from './session';
import { waitFor } from './session';
import { SystemdMachine, systemdIsInit, type RunOptions, type SystemdHost } from './systemd-host';

export const SYSTEMD = '/lib/systemd/systemd';
const TARGET = 'tsrun-test.target';
/** systemd boots in a second or two natively, in ten or more under an emulated CPU (the VM suite). */
const BOOT_LIMIT_MS = 90000;

/** Capability names in this process' bounding set (a name outside it makes capset fail). */
function hostCapabilities(): string[] {
  const mask = BigInt('0x' + (/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'));
  return Object.entries(CAPABILITIES)
    .filter(([, bit]) => (mask >> BigInt(bit)) & 1n)
    .map(([name]) => name);
}

function bind(source: string, destination: string, readonly: boolean): object {
  return { destination, type: 'bind', source, options: ['rbind', readonly ? 'ro' : 'rw'] };
}

/** This machine when systemd is its init, else a container booting systemd. */
export function systemdHostUnderTest(session: Session): SystemdHost {
  return systemdIsInit() ? new SystemdMachine(session) : new SystemdContainer(session, session.id('systemd'));
}

/** Paths outside the repository that it needs: where its node_modules link points (a git worktree's may be another checkout's). */
function repositoryLinkTargets(): string[] {
  const modules = join(REPO, 'node_modules');
  const real = existsSync(modules) ? realpathSync(modules) : modules;
  return real.startsWith(`${REPO}/`) ? [] : [real];
}

/** What a command run from outside the container's cgroup answered. */
type Answer = Pick<Output, 'status' | 'stdout' | 'stderr'>;

export class SystemdContainer implements SystemdHost {
  readonly bundle: Bundle;
  /** Shared with the container at the same path: inner bundles go here. */
  readonly work: string;
  pid = 0;

  constructor(
    private readonly session: Session,
    readonly id: string,
  ) {
    this.bundle = new Bundle(tempDir('tsrun-systemd-'));
    this.work = join(this.bundle.dir, 'work');
    const units = join(this.bundle.dir, 'units');
    mkdirSync(this.bundle.rootfs);
    mkdirSync(this.work);
    mkdirSync(units);
    // Debian's merged /usr: the top-level directories are links into it.
    for (const dir of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${dir}`, join(this.bundle.rootfs, dir));
    writeFileSync(join(units, TARGET), '[Unit]\nDescription=tsrun test target (nothing else starts)\n');
    this.bundle.writeConfig(this.config(units));
  }

  private config(units: string): object {
    const caps = hostCapabilities();
    const mounts: object[] = [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      // Its own cgroup (a cgroup namespace) writable: systemd manages the tree below.
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'rw'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] },
      { destination: '/var', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] },
      // Binds after the tmpfs mounts: the work directory lives under the host's /tmp.
      bind('/usr', '/usr', true),
      bind('/etc', '/etc', true),
      bind(REPO, REPO, true),
      ...repositoryLinkTargets().map((target) => bind(target, target, true)),
      bind(units, '/tsrun-units', true),
      bind(this.work, this.work, false),
    ];
    // The launcher execs node by absolute path; outside /usr its tree must be there too.
    const nodePrefix = dirname(dirname(process.execPath));
    if (!process.execPath.startsWith('/usr/')) mounts.push(bind(nodePrefix, nodePrefix, true));
    return {
      ociVersion: '1.2.0',
      root: { path: 'rootfs' },
      hostname: 'systemd-test',
      process: {
        terminal: false,
        user: { uid: 0, gid: 0 },
        cwd: '/',
        args: [SYSTEMD, `--unit=${TARGET}`, '--log-target=console', '--log-level=warning'],
        env: ['container=tsrun', 'SYSTEMD_UNIT_PATH=/tsrun-units:', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
        capabilities: { bounding: caps, effective: caps, permitted: caps },
      },
      mounts,
      linux: { namespaces: ['pid', 'mount', 'ipc', 'uts', 'cgroup', 'network'].map((type) => ({ type })) },
    };
  }

  /** Boots it and waits until systemd answers on its private socket. */
  async boot(): Promise<void> {
    const created = this.session.create(this.id, this.bundle);
    this.pid = created.pid;
    this.session.ok(['start', this.id]);
    let last: Answer | undefined;
    const ready = await waitFor(() => {
      last = this.askFromOutsideItsCgroup(['systemctl', 'show', '--property=ActiveState', '--value', TARGET]);
      return last.stdout.trim() === 'active';
    }, BOOT_LIMIT_MS, 200);
    if (!ready) {
      const console = [readFileSync(created.out.stdoutPath, 'utf8'), readFileSync(created.out.stderrPath, 'utf8')].join('').trim().split('\n').slice(-15).join('\n');
      throw new Error(`systemd in container ${this.id} did not reach ${TARGET} in ${BOOT_LIMIT_MS / 1000} s (systemctl: status ${last?.status}, ${JSON.stringify((last?.stdout ?? '') + (last?.stderr ?? ''))}); its console:\n${console}`);
    }
    this.assertControllersEnabled();
  }

  /**
   * Runs a command in the container's namespaces but not in its cgroup
   * (nsenter joins no cgroup). While systemd boots, a process `tsrun exec`
   * put in the container's cgroup, the root of systemd's tree, makes its
   * write of that root's cgroup.subtree_control fail (EBUSY: the no internal
   * processes rule on v2); systemd goes on without the controllers, and no
   * scope it makes later has memory.max or pids.max.
   */
  private askFromOutsideItsCgroup(command: string[]): Answer {
    const namespaces = ['--mount', '--pid', '--ipc', '--uts', '--net'];
    const r = spawnSync('nsenter', [`--target=${this.pid}`, ...namespaces, '--', ...command], { encoding: 'utf8', timeout: 60000 });
    // No nsenter is permanent: say so now rather than poll until the boot limit.
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error(`systemd container ${this.id}: nsenter not found (util-linux)`);
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
  }

  /** On cgroup v2, systemd has enabled controllers at its root: else every scope would lack its limit files. */
  private assertControllersEnabled(): void {
    if (!existsSync('/sys/fs/cgroup/cgroup.subtree_control')) return;
    const enabled = this.run(['cat', '/sys/fs/cgroup/cgroup.subtree_control']);
    if (enabled.status !== 0 || !/\bmemory\b/.test(enabled.stdout) || !/\bpids\b/.test(enabled.stdout)) {
      throw new Error(`systemd in container ${this.id} booted without memory and pids enabled at its cgroup root (cgroup.subtree_control: ${JSON.stringify(enabled.stdout + enabled.stderr)})`);
    }
  }

  /** Runs a command inside (tsrun exec), with `env` entries (NAME=value) added. */
  run(command: string[], options: RunOptions = {}): Output {
    const env = (options.env ?? []).flatMap((e) => ['--env', e]);
    return this.session.exec(['exec', ...env, this.id, ...command], { timeoutMs: options.timeoutMs ?? 60000 });
  }

  /** Runs the repository's tsrun inside, with the given arguments (its own state root, /run/tsrun). */
  tsrun(args: string[], timeoutMs = 60000): Output {
    return this.run([join(REPO, 'bin', 'tsrun'), ...args], { timeoutMs });
  }

  /** Deletes it (SIGKILL to systemd ends everything inside) and removes the bundle. */
  destroy(): void {
    if (existsSync(this.bundle.dir)) {
      this.session.exec(['delete', '--force', this.id]);
      for (const mp of mountsUnder(this.bundle.dir).reverse()) spawnSync('umount', ['-l', mp]);
      rmSync(this.bundle.dir, { recursive: true, force: true });
    }
  }
}
