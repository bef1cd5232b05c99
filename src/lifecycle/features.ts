// `tsrun features`: what this runtime supports, in the runtime-spec's
// features document (features.md), read partly from the host (cgroup
// versions, LSMs).
import { CAPABILITIES } from '../linux/capability-names';
import { OCI_VERSION } from '../spec/default-spec';
import { SECCOMP_FEATURES } from '../process/plan/seccomp';
import { hostLsms } from '../linux/lsm';
import { hostCgroupLayout } from '../cgroups/detect';
import { knownMountOptions } from '../linux/mount-options';

const SECCOMP_ARCHS = ['SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64'];

export function runtimeFeatures(): object {
  const layout = hostCgroupLayout();
  const lsms = hostLsms();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: Object.keys(CAPABILITIES),
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: true, rdma: true },
      seccomp: {
        enabled: true,
        actions: SECCOMP_FEATURES.actions(),
        operators: SECCOMP_FEATURES.operators(),
        archs: SECCOMP_ARCHS,
        knownFlags: SECCOMP_FEATURES.flags(),
        supportedFlags: SECCOMP_FEATURES.flags(),
      },
      apparmor: { enabled: lsms.includes('apparmor') },
      selinux: { enabled: lsms.includes('selinux') },
      // What tsrun can do where the host has resctrl; create refuses it where not.
      intelRdt: { enabled: true },
      mountExtensions: { idmap: { enabled: true } },
      netDevices: { enabled: true },
    },
    annotations: {
      // Which cgroup version this host's containers get.
      'tsrun.cgroup.version': layout.version,
    },
  };
}
