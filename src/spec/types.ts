// TypeScript shapes of the OCI runtime-spec v1.3 config.json (Linux and the
// platform-independent parts) and of the runtime state document.
//
// These types describe a config that has already passed schema validation
// (see load.ts); they do not guarantee the semantic rules in semantic.ts.
// Optional fields are `?` rather than `| null` because the spec says absent
// and null are not interchangeable: the schema rejects null everywhere.

/** Top-level config.json. */
export type * from './types-resources';
export type * from './types-seccomp';
import type { LinuxResources } from './types-resources';
import type { LinuxSeccomp } from './types-seccomp';

export interface Spec {
  ociVersion: string;
  root?: Root;
  mounts?: Mount[];
  process?: Process;
  hostname?: string;
  domainname?: string;
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Root {
  /** Relative paths are relative to the bundle directory. */
  path: string;
  readonly?: boolean;
}

export interface Mount {
  /** Absolute path inside the container (checked in semantic.ts). */
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
}

// ---------------------------------------------------------------- process

export interface Process {
  terminal?: boolean;
  consoleSize?: ConsoleSize;
  cwd: string;
  env?: string[];
  args?: string[];
  /** Windows only; accepted so that a shared config does not fail to parse. */
  commandLine?: string;
  user: User;
  capabilities?: LinuxCapabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  ioPriority?: LinuxIOPriority;
  scheduler?: LinuxScheduler;
  execCPUAffinity?: LinuxCPUAffinity;
}

export interface ConsoleSize {
  height: number;
  width: number;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  /** Windows only. */
  username?: string;
}

/** Capability names such as "CAP_KILL"; unknown names are a runtime decision. */
export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface POSIXRlimit {
  /** e.g. "RLIMIT_NOFILE". */
  type: string;
  soft: number;
  hard: number;
}

export type IOPriorityClass = 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE';

export interface LinuxIOPriority {
  class: IOPriorityClass;
  priority: number;
}

export type SchedulerPolicy =
  | 'SCHED_OTHER'
  | 'SCHED_FIFO'
  | 'SCHED_RR'
  | 'SCHED_BATCH'
  | 'SCHED_ISO'
  | 'SCHED_IDLE'
  | 'SCHED_DEADLINE';

export type SchedulerFlag =
  | 'SCHED_FLAG_RESET_ON_FORK'
  | 'SCHED_FLAG_RECLAIM'
  | 'SCHED_FLAG_DL_OVERRUN'
  | 'SCHED_FLAG_KEEP_POLICY'
  | 'SCHED_FLAG_KEEP_PARAMS'
  | 'SCHED_FLAG_UTIL_CLAMP_MIN'
  | 'SCHED_FLAG_UTIL_CLAMP_MAX';

export interface LinuxScheduler {
  policy: SchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: SchedulerFlag[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

/** CPU lists in cpuset syntax ("0-3,7"). */
export interface LinuxCPUAffinity {
  initial?: string;
  final?: string;
}

// ---------------------------------------------------------------- hooks

export interface Hook {
  /** Absolute path on the host (runtime namespace). */
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds; must be > 0 when present. */
  timeout?: number;
}

export interface Hooks {
  /** Deprecated by the spec in favour of the three create/start hooks. */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

// ---------------------------------------------------------------- linux

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface LinuxNamespace {
  type: NamespaceType;
  /** Join this existing namespace (absolute path) instead of creating one. */
  path?: string;
}

export interface LinuxIDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface LinuxTimeOffset {
  secs?: number;
  nanosecs?: number;
}

/** Keys of Linux.timeOffsets. */
export type TimeOffsetClock = 'monotonic' | 'boottime';

export type DeviceType = 'c' | 'b' | 'u' | 'p';

/** A device node to create inside the container. */
export interface LinuxDevice {
  type: DeviceType;
  path: string;
  /** Required for every type except 'p' (fifo). */
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface LinuxNetDevice {
  name?: string;
}

export type RootfsPropagation = 'private' | 'shared' | 'slave' | 'unbindable';

export interface LinuxPersonality {
  domain: 'LINUX' | 'LINUX32';
  flags?: string[];
}

export interface LinuxIntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
  schemata?: string[];
  enableMonitoring?: boolean;
}

export type MemoryPolicyMode =
  | 'MPOL_DEFAULT'
  | 'MPOL_BIND'
  | 'MPOL_INTERLEAVE'
  | 'MPOL_WEIGHTED_INTERLEAVE'
  | 'MPOL_PREFERRED'
  | 'MPOL_PREFERRED_MANY'
  | 'MPOL_LOCAL';

export type MemoryPolicyFlag = 'MPOL_F_NUMA_BALANCING' | 'MPOL_F_RELATIVE_NODES' | 'MPOL_F_STATIC_NODES';

export interface LinuxMemoryPolicy {
  mode: MemoryPolicyMode;
  nodes?: string;
  flags?: MemoryPolicyFlag[];
}

export interface Linux {
  namespaces?: LinuxNamespace[];
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
  timeOffsets?: Partial<Record<TimeOffsetClock, LinuxTimeOffset>>;
  devices?: LinuxDevice[];
  netDevices?: Record<string, LinuxNetDevice>;
  cgroupsPath?: string;
  resources?: LinuxResources;
  rootfsPropagation?: RootfsPropagation;
  seccomp?: LinuxSeccomp;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  sysctl?: Record<string, string>;
  personality?: LinuxPersonality;
  intelRdt?: LinuxIntelRdt;
  memoryPolicy?: LinuxMemoryPolicy;
}

// ---------------------------------------------------------------- state

/** Lifecycle states named by runtime.md; 'paused' is a common extension (runc). */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

/** The document `tsrun state` prints (runtime.md "State"). */
export interface State {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  /** Present while the container process exists on the host. */
  pid?: number;
  /** Absolute path to the bundle directory. */
  bundle: string;
  annotations?: Record<string, string>;
}
