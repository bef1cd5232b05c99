// cgroup v2: one directory in the unified hierarchy. Controllers must be
// enabled in every ancestor's cgroup.subtree_control before the container's
// directory has their files; devices are an eBPF program on the directory.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { LinuxDeviceCgroup, LinuxResources } from '../../spec/types';
import type { CgroupManager, CgroupState, CgroupStats } from '../types';
import { applyWrites, pidsBelow, readCgroupFile, writeCgroupFile } from '../files';
import { mkdirWithRetry, removeCgroupDir } from '../v1/manager';
import { v2Writes, type V2HostFacts } from './resources';
import { parseV2Stats } from './stats';
import { isCgroupFrozen } from '../frozen';
import { sleepMs } from '../../linux/sleep';

/** How long freeze/thaw waits for every process to stop or go on. */
const FREEZE_WAIT_MS = 10000;

/** Loads the device program for `rules` on `dir` (real bpf(2) unless a test swaps it). */
export type DeviceProgramApplier = (dir: string, rules: LinuxDeviceCgroup[]) => void;

export class V2Manager implements CgroupManager {
  readonly version = 'v2' as const;

  constructor(
    private readonly dir: string,
    private readonly mountRoot: string,
    private readonly applyDevices: DeviceProgramApplier,
  ) {}

  create(): void {
    mkdirWithRetry(this.dir);
  }

  /**
   * Enables in each ancestor (from the mount root down) every controller it
   * offers, as runc does: a container then has memory.current, pids.current
   * and io.stat whatever its limits (events --stats, and containerd through
   * it, report them), and a later update finds its controller enabled. An
   * ancestor holding processes refuses (the "no internal processes" rule):
   * a write that needs the controller then names it.
   */
  private enableControllers(): void {
    const levels: string[] = [];
    for (let at = dirname(this.dir); relative(this.mountRoot, at) !== '..' && at.startsWith(this.mountRoot); at = dirname(at)) {
      levels.unshift(at);
      if (at === this.mountRoot) break;
    }
    for (const level of levels) {
      const enabled = new Set(readCgroupFile(`${level}/cgroup.subtree_control`).split(/\s+/).filter(Boolean));
      const missing = readCgroupFile(`${level}/cgroup.controllers`).split(/\s+/).filter((c) => c && !enabled.has(c));
      if (missing.length === 0) continue;
      try {
        writeCgroupFile(`${level}/cgroup.subtree_control`, missing.map((c) => `+${c}`).join(' '));
      } catch {
        // all at once failed (one controller refused): each on its own, best effort
        for (const c of missing) {
          try {
            writeCgroupFile(`${level}/cgroup.subtree_control`, `+${c}`);
          } catch {
            // see above: reported by the write that needed it
          }
        }
      }
    }
  }

  addProcess(pid: number): void {
    writeCgroupFile(`${this.dir}/cgroup.procs`, String(pid));
  }

  setResources(resources: LinuxResources, options: { skipDevices?: boolean } = {}): void {
    this.enableControllers();
    const files = new Set(readdirSync(this.dir));
    const controllers = new Set(readCgroupFile(`${this.dir}/cgroup.controllers`).split(/\s+/).filter(Boolean));
    const writes = v2Writes(resources, { files, controllers, bfqPerDevice: bfqPerDevice(this.dir), usage: this.usage(), ...currentValues(this.dir, files) });
    applyWrites(writes, () => this.dir);
    if (!options.skipDevices) this.applyDevices(this.dir, resources.devices ?? []);
  }

  private usage(): { memory: number; swap: number } | undefined {
    if (!existsSync(`${this.dir}/memory.current`)) return undefined;
    const read = (f: string): number => (existsSync(`${this.dir}/${f}`) ? Number(readCgroupFile(`${this.dir}/${f}`).trim()) : 0);
    return { memory: read('memory.current'), swap: read('memory.swap.current') };
  }

  freeze(): void {
    this.setFrozen(true);
  }

  thaw(): void {
    this.setFrozen(false);
  }

  private setFrozen(frozen: boolean): void {
    writeCgroupFile(`${this.dir}/cgroup.freeze`, frozen ? '1' : '0');
    // cgroup.events says "frozen 1" once every process has stopped. A
    // deadline rather than a count of naps: on a slow or loaded machine
    // (an emulated VM is ~10x slower) a nap takes much longer than asked.
    const deadline = Date.now() + FREEZE_WAIT_MS;
    for (;;) {
      if (/^frozen (\d)$/m.exec(readCgroupFile(`${this.dir}/cgroup.events`))?.[1] === (frozen ? '1' : '0')) return;
      if (Date.now() > deadline) break;
      sleepMs(1);
    }
    throw new Error(`${this.dir}: cgroup did not become ${frozen ? 'frozen' : 'thawed'}`);
  }

  isFrozen(): boolean {
    return isCgroupFrozen(this.state());
  }

  pids(): number[] {
    return pidsBelow(this.dir);
  }

  stats(): CgroupStats {
    const files: Record<string, string> = {};
    for (const name of readdirSync(this.dir)) {
      if (/^(cpu|memory|pids|io|hugetlb)\./.test(name)) {
        try {
          files[name] = readFileSync(`${this.dir}/${name}`, 'utf8');
        } catch {
          // write-only or vanished
        }
      }
    }
    return parseV2Stats(files);
  }

  cpuLimit(): { quota: number; period: number } {
    const [quota, period] = readCgroupFile(`${this.dir}/cpu.max`).trim().split(/\s+/);
    return { quota: quota === 'max' ? -1 : Number(quota), period: Number(period) };
  }

  oomKills(): number {
    try {
      return Number(/^oom_kill (\d+)$/m.exec(readCgroupFile(`${this.dir}/memory.events`))?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  destroy(): void {
    removeCgroupDir(this.dir);
  }

  state(): CgroupState {
    return { version: 'v2', paths: { '': this.dir } };
  }
}

/** The values an update must keep that share a file with ones it changes (cpu.max, io.bfq.weight). */
function currentValues(dir: string, files: ReadonlySet<string>): Pick<V2HostFacts, 'cpuMax' | 'bfqDeviceWeights'> {
  const facts: Pick<V2HostFacts, 'cpuMax' | 'bfqDeviceWeights'> = {};
  if (files.has('cpu.max')) {
    const [quota, period] = readCgroupFile(`${dir}/cpu.max`).trim().split(/\s+/);
    if (quota && period) facts.cpuMax = { quota, period };
  }
  if (files.has('io.bfq.weight')) {
    facts.bfqDeviceWeights = readCgroupFile(`${dir}/io.bfq.weight`)
      .split('\n')
      .filter((line) => /^\d+:\d+ \d+$/.test(line.trim()))
      .map((line) => line.trim());
  }
  return facts;
}

/** io.bfq.weight starting "default N" means BFQ takes per-device weights too. */
function bfqPerDevice(dir: string): boolean {
  try {
    return readFileSync(`${dir}/io.bfq.weight`, 'utf8').startsWith('default');
  } catch {
    return false;
  }
}
