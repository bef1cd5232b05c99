// The config.json that `tsrun spec` writes: the same starting point `runc spec`
// gives (a busybox-style shell in a read-only rootfs with a small capability
// set), so that bundles and habits carry over between the two runtimes.

import type { LinuxIDMapping, Mount, Spec } from './types';

/** The runtime-spec version tsrun implements and writes into new configs. */
export const OCI_VERSION = '1.3.0';

export interface DefaultSpecOptions {
  /**
   * For an unprivileged caller: a user namespace mapping only the caller's
   * uid/gid to root, no network namespace (it could not be configured), /sys
   * bind-mounted instead of a new sysfs, and no resources (an unprivileged
   * user cannot limit cgroups without delegation). The cgroup mount stays,
   * as in runc's: through the cgroup namespace it shows the container its
   * own cgroup (a delegated one with its limits), and it covers the host's
   * cgroup mounts that the /sys bind would otherwise bring in.
   */
  rootless?: boolean;
  /** Host ids to map to container root when rootless; default: the caller's euid/egid. */
  uid?: number;
  gid?: number;
}

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
const NOSUID_NOEXEC_NODEV = ['nosuid', 'noexec', 'nodev'];

function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: [...NOSUID_NOEXEC_NODEV, 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: [...NOSUID_NOEXEC_NODEV] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: [...NOSUID_NOEXEC_NODEV, 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: [...NOSUID_NOEXEC_NODEV, 'relatime', 'ro'] },
  ];
}

/** A fresh default config (a new object every call, safe to modify). */
export function defaultSpec(opts: DefaultSpecOptions = {}): Spec {
  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'tsrun',
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      // runc adds the cgroup namespace only on a pure cgroup v2 host; tsrun
      // always asks for one so the container sees its own cgroup as "/".
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  if (opts.rootless === true) toRootless(spec, opts.uid ?? process.geteuid?.() ?? 0, opts.gid ?? process.getegid?.() ?? 0);
  return spec;
}

function toRootless(spec: Spec, uid: number, gid: number): void {
  const linux = spec.linux ?? {};
  spec.linux = linux;
  linux.namespaces = (linux.namespaces ?? []).filter((ns) => ns.type !== 'network' && ns.type !== 'user');
  linux.namespaces.push({ type: 'user' });
  const map = (hostID: number): LinuxIDMapping[] => [{ containerID: 0, hostID, size: 1 }];
  linux.uidMappings = map(uid);
  linux.gidMappings = map(gid);
  delete linux.resources;

  spec.mounts = (spec.mounts ?? []).map((m) => {
    // A new sysfs needs a network namespace owned by our user namespace;
    // bind the host's read-only instead.
    if (m.destination === '/sys') {
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', ...NOSUID_NOEXEC_NODEV, 'ro'] };
    }
    // With only one id mapped, uid=/gid= options (devpts gid=5) name ids
    // that do not exist in the container and make the mount fail.
    if (m.options === undefined) return m;
    return { ...m, options: m.options.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid=')) };
  });
}
