// The two shapes of a container's cgroup. CgroupManager: its files, v1 or
// v2 (a systemd scope is a v1 or v2 cgroup that systemd made, written
// through the same files). ContainerCgroup: its lifecycle, which differs by
// driver (cgroupfs v1, cgroupfs v2, systemd). Lifecycle code sees only
// these; which implementation it gets is decided from the host (see
// detect.ts) and the --systemd-cgroup flag at create, and saved in the
// container state, because kill/delete/ps arrive without the flags that
// created it (see manager.ts, the one factory).
import type { LinuxResources } from '../spec/types';
import type { SubCgroupPaths } from './sub-cgroup';

export type CgroupVersion = 'v1' | 'v2';

/**
 * One file write a resource turns into. `controller` is the v1 controller
 * whose directory holds `file` ('' on v2, where one directory holds all).
 * `field` is the JSON pointer of the config value, for error messages.
 */
export interface CgroupWrite {
  controller: string;
  file: string;
  value: string;
  field: string;
}

/** What the container state records to find the cgroup again. */
export interface CgroupState {
  version: CgroupVersion;
  /** v1: controller name -> absolute directory; v2: { '': directory }. */
  paths: Record<string, string>;
  /** The directory above (tsrun/ for the default path) is removed with the last container in it. */
  removeEmptyParent?: boolean;
  /**
   * Rootless cgroups (--rootless, auto when not root): permission errors on
   * the default path drop a hierarchy instead of failing, device rules are
   * left to the user namespace, and an exec that cannot join is let be.
   */
  rootless?: boolean;
  /** --systemd-cgroup: the scope unit holding the container. */
  systemd?: SystemdScopeState;
}

/**
 * The scope unit and its slice. `started` once systemd has made it: before
 * that the unit name and the directories may belong to someone else (a
 * failed create must not stop another container's scope of the same name).
 */
export interface SystemdScopeState {
  unit: string;
  slice: string;
  /** Made by the user's own systemd instance (rootless), not the system's. */
  user?: boolean;
  started?: boolean;
}

export interface CgroupStats {
  cpu: { usage: { total: number; user: number; kernel: number; percpu?: number[] }; throttling: { periods: number; throttledPeriods: number; throttledTime: number } };
  memory: { usage: MemoryEntry; swap?: MemoryEntry; kernel?: MemoryEntry; raw: Record<string, number> };
  pids: { current: number; limit: number };
  blkio: { ioServiceBytesRecursive: BlkioEntry[]; ioServicedRecursive: BlkioEntry[] };
  hugetlb: Record<string, { usage: number; max: number; failcnt: number }>;
}

export interface MemoryEntry {
  limit: number;
  usage: number;
  max: number;
  failcnt: number;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface CgroupManager {
  readonly version: CgroupVersion;
  /** Makes the directories (idempotent). */
  create(): void;
  addProcess(pid: number): void;
  /**
   * Applies every field; a value the host cannot honour throws naming the field.
   * skipDevices leaves the device rules as they are (an update that names none).
   */
  setResources(resources: LinuxResources, options?: { skipDevices?: boolean }): void;
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  /** Host pids of every process in the cgroup. */
  pids(): number[];
  stats(): CgroupStats;
  /** The cpu bandwidth limit in force (quota -1: none), in microseconds. */
  cpuLimit(): { quota: number; period: number };
  /** How many processes the OOM killer has killed in the cgroup so far. */
  oomKills(): number;
  /** Removes the directories; the cgroup must be empty. */
  destroy(): void;
  state(): CgroupState;
}

/**
 * A container's cgroup from create to delete, as one driver keeps it. The
 * steps are those of the lifecycle, not of the files: a driver may have
 * nothing to do at one (a systemd scope cannot exist before its process)
 * and more at another (the unit's properties, its stop).
 */
export interface ContainerCgroup {
  /**
   * What the container state records; a driver updates it in place as it
   * learns more (a scope's real paths, that it started), so the record and
   * create's undo steps, holding the same object, see it.
   */
  readonly state: CgroupState;
  /** The cgroup's files as they are now (after placeInit, for a scope). */
  files(): CgroupManager;
  /** Before the init exists: make and configure what can be. */
  prepare(resources: LinuxResources): void;
  /** Puts stage 1 of the init (which waits for us) of container `id` in the cgroup, finishing what prepare could not. */
  placeInit(pid: number, resources: LinuxResources, id: string): void;
  /**
   * Puts an exec'd process (stage 1, still outside the cgroup namespace) in
   * the cgroup, or in the sub-cgroups given (exec --cgroup, see sub-cgroup.ts).
   */
  placeExec(pid: number, initPid: number, sub?: SubCgroupPaths): void;
  /** A live container's new limits: fields left out keep their values; device rules are rewritten only when given. */
  update(resources: LinuxResources): void;
  /** Removes the cgroup, which must hold no process any more. */
  destroy(): void;
}
