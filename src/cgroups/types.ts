// The shape shared by every cgroup implementation (v1, v2; a systemd scope
// is a v1 or v2 cgroup that systemd made).
// Lifecycle code sees only CgroupManager; which one it gets is decided at
// run time from the host (see detect.ts) and saved in the container state,
// because kill/delete/ps arrive without the flags that created it.
import type { LinuxResources } from '../spec/types';

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
   * --systemd-cgroup: the scope unit holding the container, and its slice.
   * `started` once systemd has made it: before that the unit name and the
   * directories may belong to someone else (a failed create must not stop
   * another container's scope of the same name).
   */
  systemd?: { unit: string; slice: string; started?: boolean };
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
