// What the parent decides before forking (crun's rule: the parent does the
// thinking, the children only apply). Pure, so the ordering rules are unit-tested.
import type { Spec } from '../../spec/types';
import type { NamespaceKind } from '../../linux/namespaces';
import { configError } from '../../errors';
import { checkProcMounts, checkSysctls } from './security';
import { hostLsms } from '../../linux/lsm';
import type { SeccompOwner } from './seccomp';
import { planProcess, type ProcessPlan } from './process-plan';
import { planIdmappedMounts, type IdmappedMountPlan } from './idmapped-mounts';
import { effectiveUid } from '../../linux/proc';

export interface ContainerPlan {
  id: string;
  spec: Spec;
  /** Absolute bundle directory. */
  bundle: string;
  /** Absolute, symlink-free rootfs directory. */
  rootfs: string;
  fifoPath: string;
  noPivot: boolean;
  /** The init waits for a `start` that may be long in coming (create, not run): it gives back idle memory first. */
  waitsForStart: boolean;
  /** The container's process (config.json's `process`), as exec's plan has its own. */
  process: ProcessPlan;
  /** Namespaces joined by path, in the order they must be joined (user first). */
  join: Array<{ kind: NamespaceKind; path: string }>;
  /** Namespaces created new, user excluded (it is made first, on its own). */
  create: NamespaceKind[];
  newUserNamespace: boolean;
  /** True when the container runs in a user namespace, new or joined. */
  inUserNamespace: boolean;
  /**
   * Without a mount namespace the mounts are made in the runtime's own (as
   * runc does) and the root switch is a chroot; delete unmounts them.
   */
  hasMountNamespace: boolean;
  /** linux.mountLabel: applied on an SELinux host, refused elsewhere (runc ignores it; the user would believe it applied). */
  mountLabel?: string;
  /**
   * The container's cgroup directories on the host, for a `cgroup` mount
   * that must fall back to a bind (rootfs/mounts.ts). Noted by stage 1 once
   * it is in the cgroup, in its own copy of the plan, which the init inherits.
   */
  cgroupHostDirs?: Record<string, string>;
  /** The mounts that get an id mapping, made by the parent before the fork (create/idmapped-mounts.ts). */
  idmappedMounts: IdmappedMountPlan[];
  /** mounts[] index -> fd of its detached idmapped copy, inherited by the init; set around the fork. */
  idmappedMountFds?: Record<number, number>;
  /**
   * With process.terminal: the connected socket (inherited through the forks)
   * that the init sends the pty master on, and what it leads to, for errors.
   * Set by the caller after makePlan, around the fork.
   */
  console?: { socketFd: number; describe: string };
}

export interface PlanOptions {
  id: string;
  bundle: string;
  rootfs: string;
  fifoPath: string;
  noPivot: boolean;
  /** Default true (create); run passes false. */
  waitsForStart?: boolean;
  preserveFds: number;
  /** Where warnings about the config go (capabilities newer than the kernel). */
  warn?: (msg: string) => void;
}

export function makePlan(spec: Spec, options: PlanOptions): ContainerPlan {
  const namespaces = spec.linux?.namespaces ?? [];
  const joined = namespaces.filter((ns) => ns.path);
  const join = [...joined.filter((ns) => ns.type === 'user'), ...joined.filter((ns) => ns.type !== 'user')].map((ns) => ({
    kind: ns.type as NamespaceKind,
    path: ns.path as string,
  }));
  const fresh = namespaces.filter((ns) => !ns.path).map((ns) => ns.type as NamespaceKind);
  const kinds = new Set(namespaces.map((ns) => ns.type));
  const hasMountNamespace = kinds.has('mount');
  if (!hasMountNamespace && ((spec.linux?.maskedPaths ?? []).length > 0 || (spec.linux?.readonlyPaths ?? []).length > 0)) {
    throw configError('/linux/maskedPaths', 'masked and read-only paths need a mount namespace');
  }
  if ((spec.hostname || spec.domainname) && !kinds.has('uts')) {
    throw configError(`/${spec.hostname ? 'hostname' : 'domainname'}`, 'setting it needs a uts namespace');
  }
  checkSysctls(spec.linux?.sysctl, kinds);
  checkProcMounts(spec.mounts);
  const idmappedMounts = planIdmappedMounts(spec, { bundle: options.bundle, rootless: effectiveUid() !== 0 });
  const { warn, preserveFds, ...rest } = options;
  return {
    ...rest,
    spec,
    noPivot: options.noPivot || !hasMountNamespace,
    waitsForStart: options.waitsForStart ?? true,
    process: planProcess(spec, { origin: 'config', preserveFds, warn: warn ?? (() => undefined) }),
    join,
    create: fresh.filter((k) => k !== 'user'),
    newUserNamespace: fresh.includes('user'),
    inUserNamespace: kinds.has('user'),
    hasMountNamespace,
    mountLabel: mountLabelOf(spec),
    idmappedMounts,
  };
}

/** An empty label is "none" (podman writes one on hosts without SELinux). */
function mountLabelOf(spec: Spec): string | undefined {
  const label = spec.linux?.mountLabel;
  if (!label) return undefined;
  if (!hostLsms().includes('selinux')) throw configError('/linux/mountLabel', `SELinux is not enabled on this host (cannot apply mount label "${label}")`);
  return label;
}

/** The container as its seccomp agent is told about it. */
export function containerSeccompOwner(plan: ContainerPlan): SeccompOwner {
  return { id: plan.id, bundle: plan.bundle, spec: plan.spec, seccomp: plan.process.seccomp };
}

/** The host uid and gid that the container's root maps to (the exec fifo's owner). */
export function hostIdsOfContainerRoot(spec: Spec): { uid: number; gid: number } {
  const toHost = (maps: Array<{ containerID: number; hostID: number; size: number }> | undefined): number => {
    for (const m of maps ?? []) if (m.containerID === 0 && m.size > 0) return m.hostID;
    return 0;
  };
  const userNs = (spec.linux?.namespaces ?? []).some((ns) => ns.type === 'user' && !ns.path);
  if (!userNs) return { uid: 0, gid: 0 };
  return { uid: toHost(spec.linux?.uidMappings), gid: toHost(spec.linux?.gidMappings) };
}
