// The properties of the scope tsrun asks systemd for. Pure.
import type { LinuxResources } from '../../spec/types';
import type { CgroupVersion } from '../types';
import type { DBusValue, Variant } from './dbus-wire';
import { sharesToCpuWeight } from '../v2/convert';

/** One unit property as StartTransientUnit takes it: (name, variant). */
export type UnitProperty = [string, Variant];

export function property(name: string, signature: string, value: DBusValue): UnitProperty {
  return [name, { signature, value }];
}

export interface ScopeRequest {
  unit: string;
  slice: string;
  pid: number;
  description: string;
  /** Resource properties mirrored to systemd (see systemdResourceProperties). */
  resources: UnitProperty[];
}

/** The properties of a delegated scope holding `pid` in `slice`. */
export function scopeProperties(request: ScopeRequest): UnitProperty[] {
  return [
    property('Description', 's', request.description),
    property('Slice', 's', request.slice),
    // The container's runtime owns everything below the scope's cgroup.
    property('Delegate', 'b', true),
    // Not ordered against shutdown.target and friends: the container's lifetime is its runtime's business.
    property('DefaultDependencies', 'b', false),
    property('PIDs', 'au', [request.pid]),
    ...request.resources,
  ];
}

/** systemd's "infinity" for a limit: UINT64_MAX. */
const INFINITY = 2n ** 64n - 1n;

/**
 * A memory or pids limit as systemd takes it: OCI's -1 (any negative) lifts
 * the limit, which the unit must say too (infinity), or systemd puts the
 * old limit back on its next re-apply; 0 or none leaves it as it is (runc).
 */
function limitValue(limit: number | undefined): bigint | undefined {
  if (limit === undefined || limit === 0) return undefined;
  return limit < 0 ? INFINITY : BigInt(limit);
}

/** systemd's quota resolution: CPUQuotaPerSecUSec is rounded up to whole 10 ms. */
const QUOTA_STEP_USEC = 10_000;
const DEFAULT_PERIOD_USEC = 100_000;

/**
 * The container's resource limits as unit properties. tsrun writes the
 * cgroup files itself (after systemd has made the scope); the same limits go
 * to systemd too, because systemd re-applies a unit's own idea of its cgroup
 * attributes (on daemon-reload, for one) and would otherwise put its
 * defaults back over ours.
 */
export function systemdResourceProperties(resources: LinuxResources, version: CgroupVersion): UnitProperty[] {
  const props: UnitProperty[] = [];
  const { memory, pids, cpu } = resources;
  // The accounting switches make systemd manage these controllers for the scope.
  props.push(property('MemoryAccounting', 'b', true), property('CPUAccounting', 'b', true), property('TasksAccounting', 'b', true));
  // systemd applies MemoryMax as memory.limit_in_bytes on v1 hierarchies.
  const memoryMax = limitValue(memory?.limit);
  if (memoryMax !== undefined) props.push(property('MemoryMax', 't', memoryMax));
  const tasksMax = limitValue(pids?.limit);
  if (tasksMax !== undefined) props.push(property('TasksMax', 't', tasksMax));
  if (cpu?.shares) {
    if (version === 'v1') props.push(property('CPUShares', 't', BigInt(cpu.shares)));
    else props.push(property('CPUWeight', 't', BigInt(sharesToCpuWeight(cpu.shares))));
  }
  if (cpu?.quota !== undefined && cpu.quota > 0) {
    const period = cpu.period && cpu.period > 0 ? cpu.period : DEFAULT_PERIOD_USEC;
    const perSec = Math.ceil((cpu.quota * 1_000_000) / period / QUOTA_STEP_USEC) * QUOTA_STEP_USEC;
    props.push(property('CPUQuotaPerSecUSec', 't', BigInt(perSec)));
    if (cpu.period && cpu.period > 0) props.push(property('CPUQuotaPeriodUSec', 't', BigInt(cpu.period)));
  }
  return props;
}
