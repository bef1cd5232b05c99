// cgroup v1: one directory per controller hierarchy.
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LinuxResources } from '../../spec/types';
import type { CgroupManager, CgroupState, CgroupStats, CgroupWrite } from '../types';
import { configError } from '../../errors';
import { applyWrites, childCgroups, pidsBelow, readCgroupFile, writeCgroupFile } from '../files';
import { v1Writes } from './resources';
import { isCgroupFrozen } from '../frozen';
import { v1DeviceWrites } from '../devices/v1';
import { withDefaultDeviceRules } from '../devices/defaults';
import { readV1Stats } from './stats';
import { sleepMs } from '../../linux/sleep';

/**
 * Files a kernel may take a write to and then ignore: Linux 6.x keeps
 * memory.kmem.limit_in_bytes, but "writing any value to this file has no
 * effect" (dmesg). A limit the kernel ignored is refused, never passed over.
 */
const IGNORED_BY_SOME_KERNELS = new Set(['memory.kmem.limit_in_bytes']);
const PAGE = 4096;

function refuseIgnoredWrites(writes: CgroupWrite[], dirOf: (controller: string) => string): void {
  for (const w of writes) {
    if (!IGNORED_BY_SOME_KERNELS.has(w.file) || Number(w.value) <= 0) continue;
    const got = readCgroupFile(`${dirOf(w.controller)}/${w.file}`).trim();
    // The kernel rounds a byte limit down to whole pages.
    if (Number(got) !== Math.floor(Number(w.value) / PAGE) * PAGE) {
      throw configError(w.field, `this kernel accepts but ignores it (${w.file} reads ${got} after writing ${w.value})`);
    }
  }
}

export class V1Manager implements CgroupManager {
  readonly version = 'v1' as const;

  constructor(private readonly paths: Record<string, string>) {}

  private dir(controller: string): string {
    const dir = this.paths[controller];
    if (!dir) throw new Error(`cgroup v1 controller ${controller} is not mounted`);
    return dir;
  }

  /** One entry per distinct directory (co-mounted controllers share one). */
  private dirs(): string[] {
    return [...new Set(Object.values(this.paths))];
  }

  create(): void {
    for (const dir of this.dirs()) mkdirWithRetry(dir);
    if (this.paths.cpuset) inheritCpuset(this.paths.cpuset);
  }

  addProcess(pid: number): void {
    for (const dir of this.dirs()) writeCgroupFile(`${dir}/cgroup.procs`, String(pid));
  }

  setResources(resources: LinuxResources, options: { skipDevices?: boolean } = {}): void {
    const controllers = new Set(Object.keys(this.paths));
    const writes = v1Writes(resources, { controllers, hasFile: (c, f) => existsSync(`${this.paths[c]}/${f}`) }, (r) =>
      options.skipDevices ? [] : v1DeviceWrites(withDefaultDeviceRules(r.devices)),
    );
    applyWrites(writes, (c) => this.dir(c));
    refuseIgnoredWrites(writes, (c) => this.dir(c));
  }

  freeze(): void {
    this.setFreezer('FROZEN');
  }

  thaw(): void {
    this.setFreezer('THAWED');
  }

  private setFreezer(state: 'FROZEN' | 'THAWED'): void {
    const file = `${this.dir('freezer')}/freezer.state`;
    // FREEZING is transitional: write until the kernel reports the state reached.
    for (let i = 0; i < 1000; i++) {
      writeCgroupFile(file, state);
      if (readCgroupFile(file).trim() === state) return;
      sleepMs(1);
    }
    throw new Error(`${file}: did not reach ${state}`);
  }

  isFrozen(): boolean {
    return isCgroupFrozen(this.state());
  }

  pids(): number[] {
    return pidsBelow(this.paths.pids ?? this.paths.freezer ?? this.dirs()[0]);
  }

  stats(): CgroupStats {
    return readV1Stats(this.paths);
  }

  cpuLimit(): { quota: number; period: number } {
    const read = (file: string): number => Number(readCgroupFile(`${this.dir('cpu')}/${file}`).trim());
    return { quota: read('cpu.cfs_quota_us'), period: read('cpu.cfs_period_us') };
  }

  oomKills(): number {
    if (!this.paths.memory) return 0;
    try {
      return Number(/^oom_kill (\d+)$/m.exec(readCgroupFile(`${this.paths.memory}/memory.oom_control`))?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  destroy(): void {
    for (const dir of this.dirs()) removeCgroupDir(dir);
  }

  state(): CgroupState {
    return { version: 'v1', paths: { ...this.paths } };
  }
}

/** A concurrent delete may remove a shared parent between our mkdirs: try again. */
export function mkdirWithRetry(dir: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(dir, { recursive: true });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
    }
  }
}

/** A new cpuset cgroup starts with no cpus and mems; copy the nearest ancestor's. */
function inheritCpuset(dir: string): void {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    if (readCgroupFile(`${dir}/${file}`).trim() !== '') continue;
    const chain: string[] = [];
    let at = dir;
    while (readCgroupFile(`${at}/${file}`).trim() === '') {
      chain.unshift(at);
      at = dirname(at);
    }
    const value = readCgroupFile(`${at}/${file}`).trim();
    for (const d of chain) writeCgroupFile(`${d}/${file}`, value);
  }
}

/**
 * rmdir, child cgroups first (an init system or nested runtime inside the
 * container may have made some), waiting briefly while the last processes
 * finish leaving (EBUSY).
 */
export function removeCgroupDir(dir: string): void {
  for (const child of childCgroups(dir)) removeCgroupDir(`${dir}/${child}`);
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 200) throw new Error(`rmdir ${dir}: ${code}`);
      sleepMs(5);
    }
  }
}
