// Picking, making and re-opening the cgroup of a container: a cgroupfs
// directory tsrun makes, or (--systemd-cgroup) a systemd scope whose cgroup
// tsrun then configures through the same files.
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LinuxResources, Spec } from '../spec/types';
import { UserError } from '../errors';
import type { CgroupManager, CgroupState } from './types';
import { hostCgroupLayout, ownCgroups, parseProcCgroup } from './detect';
import { resolveCgroupDirs } from './paths';
import { CgroupWriteError, writeCgroupFile } from './files';
import { V1Manager } from './v1/manager';
import { V2Manager } from './v2/manager';
import { applyV2DeviceRules } from './devices/apply-v2';
import { systemdCgroupOf } from './systemd/unit-path';
import { systemdResourceProperties } from './systemd/unit-properties';

/** Where the container's cgroup goes on this host. */
export function planCgroup(spec: Spec, id: string, systemdDriver = false): CgroupState {
  if (systemdDriver) return planSystemdScope(spec, id);
  const state = resolveCgroupDirs(hostCgroupLayout(), spec.linux?.cgroupsPath, id, ownCgroups());
  // The default path is tsrun/<id>: the tsrun level is ours to remove when it empties.
  if (!spec.linux?.cgroupsPath) state.removeEmptyParent = true;
  return state;
}

export function openCgroup(state: CgroupState): CgroupManager {
  if (state.version === 'v1') return new V1Manager(state.paths);
  const mount = hostCgroupLayout().unifiedMount ?? '/sys/fs/cgroup';
  return new V2Manager(state.paths[''], mount, applyV2DeviceRules);
}

/**
 * Before the init exists: a cgroupfs cgroup is made and configured now. A
 * systemd scope cannot be made without a process to put in it, so it waits
 * for placeInCgroup.
 */
export function prepareCgroup(state: CgroupState, resources: LinuxResources): void {
  if (state.systemd) return;
  const cgroup = openCgroup(state);
  cgroup.create();
  cgroup.setResources(resources);
}

/** Puts stage 1 (which waits for us) in the container's cgroup. */
export function placeInCgroup(state: CgroupState, pid: number, resources: LinuxResources, id: string): void {
  if (!state.systemd) {
    openCgroup(state).addProcess(pid);
    return;
  }
  const { unit, slice } = state.systemd;
  systemdUnits().startScope({ unit, slice, pid, description: `tsrun container ${id}`, resources: systemdResourceProperties(resources, state.version) });
  state.systemd.started = true;
  adoptScopePaths(state, pid, id);
  // systemd made the scope's cgroup in the hierarchies it manages; the others
  // (cpuset, freezer, ... on v1) are ours to make. Limits are written after
  // systemd has applied its own defaults to the new cgroup.
  const cgroup = openCgroup(state);
  cgroup.create();
  cgroup.addProcess(pid);
  cgroup.setResources(resources);
}

/**
 * Puts an exec'd process (stage 1, still outside the container's cgroup
 * namespace) in the container's cgroup. On v2 a container whose own programs
 * made sub-cgroups and gave them controllers (systemd as its init moves
 * itself to init.scope) may hold no process at its top: the kernel's "no
 * internal processes" rule answers EBUSY, and the process joins the init's
 * cgroup instead, as runc does.
 */
export function placeExecProcess(state: CgroupState, pid: number, initPid: number): void {
  try {
    openCgroup(state).addProcess(pid);
  } catch (err) {
    if (state.version !== 'v2' || !(err instanceof CgroupWriteError) || err.code !== 'EBUSY') throw err;
    const initCgroup = parseProcCgroup(readFileSync(`/proc/${initPid}/cgroup`, 'utf8')).get('');
    if (initCgroup === undefined) throw err;
    const mount = hostCgroupLayout().unifiedMount ?? '/sys/fs/cgroup';
    writeCgroupFile(join(mount, initCgroup, 'cgroup.procs'), String(pid));
  }
}

/**
 * A live container's new limits (fields left out keep their values; device
 * rules are rewritten only when given). A systemd scope's unit properties
 * first, so that systemd's idea of the unit stays ours, then the files.
 */
export function updateCgroup(state: CgroupState, resources: LinuxResources): void {
  const cgroup = openCgroup(state);
  if (state.systemd?.started) {
    systemdUnits().setUnitProperties(state.systemd.unit, systemdResourceProperties(withCpuLimitInForce(resources, cgroup), state.version));
  }
  cgroup.setResources(resources, { skipDevices: resources.devices === undefined });
}

/**
 * systemd takes a cpu limit as quota per second: an update naming only the
 * quota (or only the period) is converted with the other value in force,
 * not the default, or the unit's limit differs from the cgroup's and
 * systemd puts it back on its next re-apply.
 */
function withCpuLimitInForce(resources: LinuxResources, cgroup: CgroupManager): LinuxResources {
  const cpu = resources.cpu;
  const quotaGiven = cpu?.quota !== undefined && cpu.quota !== 0;
  const periodGiven = cpu?.period !== undefined && cpu.period !== 0;
  if (quotaGiven === periodGiven) return resources;
  const current = cgroup.cpuLimit();
  return { ...resources, cpu: { ...cpu, quota: quotaGiven ? cpu?.quota : current.quota, period: periodGiven ? cpu?.period : current.period } };
}

/** Removes the container's cgroup (stopping its scope) and, for the default path, the shared tsrun level if now empty. */
export function destroyCgroup(state: CgroupState): void {
  if (state.systemd && !state.systemd.started) return;
  let stopError: unknown;
  if (state.systemd) {
    try {
      systemdUnits().stopUnit(state.systemd.unit);
    } catch (err) {
      stopError = err;
    }
  }
  openCgroup(state).destroy();
  if (stopError) throw stopError;
  if (!state.removeEmptyParent) return;
  for (const dir of new Set(Object.values(state.paths).map((d) => dirname(d)))) {
    try {
      rmdirSync(dir);
    } catch {
      // another container still uses it, or it is already gone
    }
  }
}

/**
 * --systemd-cgroup: the scope <prefix>-<name>.scope in the slice that
 * slice:prefix:name names, its cgroup planned where systemd will make it.
 * Without systemd there is nobody to ask: say so.
 */
function planSystemdScope(spec: Spec, id: string): CgroupState {
  const scope = systemdCgroupOf(spec.linux?.cgroupsPath, id);
  if (!existsSync('/run/systemd/system')) {
    throw new UserError('--systemd-cgroup: systemd is not running on this host (no /run/systemd/system): use the cgroupfs driver (drop --systemd-cgroup)');
  }
  const state = resolveCgroupDirs(hostCgroupLayout(), scope.path, id, ownCgroups());
  state.systemd = { unit: scope.unit, slice: scope.slice };
  return state;
}

/**
 * Where systemd really put the process (its hierarchy's root may not be ours,
 * e.g. a systemd in a container without a cgroup namespace): every
 * hierarchy's directory follows that path. The state object is updated in
 * place, so the record and the undo steps holding it see the real paths.
 */
function adoptScopePaths(state: CgroupState, pid: number, id: string): void {
  const own = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  const unit = state.systemd?.unit ?? '';
  // systemd tracks processes in the cgroup2 hierarchy, or name=systemd on a v1-only host.
  const candidates = [own.get(''), own.get('name=systemd')];
  const actual = candidates.find((path) => path?.endsWith(`/${unit}`));
  if (!actual) {
    throw new UserError(`--systemd-cgroup: systemd reported scope ${unit} started, but process ${pid} is in cgroup ${candidates.find(Boolean) ?? '(none)'}`);
  }
  state.paths = resolveCgroupDirs(hostCgroupLayout(), actual, id, own).paths;
}

/** Loaded on use: D-Bus and its koffi calls are for --systemd-cgroup containers alone. */
function systemdUnits(): typeof import('./systemd/units') {
  return require('./systemd/units') as typeof import('./systemd/units');
}
