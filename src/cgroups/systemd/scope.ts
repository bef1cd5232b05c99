// The systemd driver (--systemd-cgroup): the container's cgroup is a
// transient scope unit's. systemd makes it, in a v1 or v2 hierarchy, when
// asked to start the scope with a process in it; tsrun then writes the same
// files as for cgroupfs, through the v1 or v2 driver it wraps, and keeps the
// unit's own idea of the limits in step.
import { existsSync, readFileSync } from 'node:fs';
import type { LinuxResources, Spec } from '../../spec/types';
import type { CgroupManager, CgroupState, ContainerCgroup, SystemdScopeState } from '../types';
import type { SubCgroupPaths } from '../sub-cgroup';
import { UserError } from '../../errors';
import { hostCgroupLayout, ownCgroups, parseProcCgroup } from '../detect';
import { resolveCgroupDirs } from '../paths';
import type { CgroupfsCgroup } from '../cgroupfs';
import { systemdCgroupOf, userSystemdSocket } from './unit-path';
import { systemdResourceProperties } from './unit-properties';

/**
 * The scope <prefix>-<name>.scope in the slice that slice:prefix:name names,
 * its cgroup planned where systemd will make it. Without systemd there is
 * nobody to ask: say so.
 */
export function planSystemdScope(spec: Spec, id: string, rootless = false): CgroupState {
  const scope = systemdCgroupOf(spec.linux?.cgroupsPath, id, rootless ? 'user.slice' : 'system.slice');
  if (!existsSync('/run/systemd/system')) {
    throw new UserError('--systemd-cgroup: systemd is not running on this host (no /run/systemd/system): use the cgroupfs driver (drop --systemd-cgroup)');
  }
  const layout = hostCgroupLayout();
  if (rootless) checkUserSystemd(layout.version);
  // A user instance's slices are below its user@UID.service: the real paths are adopted once the scope exists.
  const state = resolveCgroupDirs(layout, scope.path, id, ownCgroups());
  state.systemd = { unit: scope.unit, slice: scope.slice, ...(rootless ? { user: true } : {}) };
  if (rootless) state.rootless = true;
  return state;
}

/**
 * A rootless container's scope comes from the user's own systemd, reached
 * at $XDG_RUNTIME_DIR/systemd/private. Only on cgroup v2 can it delegate a
 * cgroup to the user (runc refuses v1 the same way).
 */
function checkUserSystemd(version: 'v1' | 'v2'): void {
  if (version !== 'v2') throw new UserError('--systemd-cgroup: a rootless container needs cgroup v2 for the user\'s systemd to delegate a cgroup; this host uses v1 (drop --systemd-cgroup)');
  const socket = userSystemdSocket();
  if (!existsSync(socket)) {
    throw new UserError(`--systemd-cgroup: the user's systemd instance is not running (no ${socket}; it runs in a login session as user@UID.service), or drop --systemd-cgroup`);
  }
}


export class SystemdScope implements ContainerCgroup {
  /** `cgroupfs` holds the same state object: the paths adopted here are the ones its files use. */
  constructor(
    readonly state: CgroupState,
    private readonly scope: SystemdScopeState,
    private readonly cgroupfs: CgroupfsCgroup,
  ) {}

  files(): CgroupManager {
    return this.cgroupfs.files();
  }

  /** A scope cannot be made without a process to put in it: all waits for placeInit. */
  prepare(): void {}

  placeInit(pid: number, resources: LinuxResources, id: string): void {
    const { unit, slice } = this.scope;
    const user = this.scope.user === true;
    systemdUnits().startScope({ unit, slice, pid, description: `tsrun container ${id}`, resources: systemdResourceProperties(resources, this.state.version) }, user);
    this.scope.started = true;
    adoptScopePaths(this.state, unit, pid, id);
    // systemd made the scope's cgroup in the hierarchies it manages; the others
    // (cpuset, freezer, ... on v1) are ours to make. Limits are written after
    // systemd has applied its own defaults to the new cgroup.
    const cgroup = this.files();
    cgroup.create();
    cgroup.addProcess(pid);
    // Device rules need the eBPF program only root may load: a user's scope leaves them to its user namespace.
    cgroup.setResources(resources, { skipDevices: user });
  }

  /**
   * Through the files, sub-cgroups too: a sub-cgroup of the scope is below
   * the unit's cgroup, where systemd still counts the process as the unit's
   * (runc asks systemd to attach it to the unit's sub-cgroup, same result).
   */
  placeExec(pid: number, initPid: number, sub?: SubCgroupPaths): void {
    this.cgroupfs.placeExec(pid, initPid, sub);
  }

  /** The unit's properties first, so that systemd's idea of the unit stays ours, then the files. */
  update(resources: LinuxResources): void {
    if (this.scope.started) {
      const properties = systemdResourceProperties(withCpuLimitInForce(resources, this.files()), this.state.version);
      systemdUnits().setUnitProperties(this.scope.unit, properties, this.scope.user === true);
    }
    this.cgroupfs.update(resources);
  }

  /** Stops the unit, then removes what is left of its cgroup, even when the stop failed. */
  destroy(): void {
    if (!this.scope.started) return;
    let stopError: unknown;
    try {
      systemdUnits().stopUnit(this.scope.unit, this.scope.user === true);
    } catch (err) {
      stopError = err;
    }
    this.cgroupfs.destroy();
    if (stopError) throw stopError;
  }
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

/**
 * Where systemd really put the process (its hierarchy's root may not be ours,
 * e.g. a systemd in a container without a cgroup namespace): every
 * hierarchy's directory follows that path. The state object is updated in
 * place, so the record and the undo steps holding it see the real paths.
 */
function adoptScopePaths(state: CgroupState, unit: string, pid: number, id: string): void {
  const own = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  // systemd tracks processes in the cgroup2 hierarchy, or name=systemd on a v1-only host.
  const candidates = [own.get(''), own.get('name=systemd')];
  const actual = candidates.find((path) => path?.endsWith(`/${unit}`));
  if (!actual) {
    throw new UserError(`--systemd-cgroup: systemd reported scope ${unit} started, but process ${pid} is in cgroup ${candidates.find(Boolean) ?? '(none)'}`);
  }
  state.paths = resolveCgroupDirs(hostCgroupLayout(), actual, id, own).paths;
}

/** Loaded on use: D-Bus and its koffi calls only when systemd is asked something, not for pause, ps or kill. */
function systemdUnits(): typeof import('./units') {
  return require('./units') as typeof import('./units');
}
