// The CPUs a process' cpuset cgroup allows: what runtime-spec calls "the
// container's default CPU affinity", which an exec'd process returns to
// after an execCPUAffinity.initial without a final.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { hostCgroupLayout, parseProcCgroup } from './detect';

const ONLINE_CPUS = '/sys/devices/system/cpu/online';

/**
 * The effective CPU list of `pid`'s cpuset cgroup, read from its directory
 * or the nearest ancestor that has the file (a v2 cgroup without the cpuset
 * controller has none); the online CPUs where no cpuset is mounted.
 */
export function cpusetCpusOf(pid: number): string {
  const layout = hostCgroupLayout();
  const paths = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  const mount = layout.version === 'v2' ? layout.unifiedMount : layout.v1Mounts.get('cpuset');
  const path = layout.version === 'v2' ? paths.get('') : paths.get('cpuset');
  const file = layout.version === 'v2' ? 'cpuset.cpus.effective' : 'cpuset.effective_cpus';
  if (mount !== undefined && path !== undefined) {
    for (let dir = path; ; dir = posix.dirname(dir)) {
      const cpus = readIfPresent(posix.join(mount, dir, file));
      if (cpus !== undefined && cpus !== '') return cpus;
      if (dir === '/') break;
    }
  }
  return readFileSync(ONLINE_CPUS, 'utf8').trim();
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}
