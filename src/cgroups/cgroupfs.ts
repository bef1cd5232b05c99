// The cgroupfs drivers: tsrun makes the container's cgroup directories
// itself, v1 (one per controller hierarchy) or v2 (one in the unified
// hierarchy), and removes them at delete. The systemd driver wraps one of
// these for the files of the cgroup systemd made.
import { readFileSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LinuxResources, Spec } from '../spec/types';
import type { CgroupManager, CgroupState, ContainerCgroup } from './types';
import { hostCgroupLayout, ownCgroups, parseProcCgroup } from './detect';
import { resolveCgroupDirs } from './paths';
import { execCgroupDirs, hasSubCgroups, type SubCgroupPaths } from './sub-cgroup';
import { CgroupWriteError, writeCgroupFile } from './files';
import { V1Manager } from './v1/manager';
import { V2Manager } from './v2/manager';
import { applyV2DeviceRules } from './devices/apply-v2';
import { firstLimitField, isPermissionError, isTrackingOnly, limitWithoutCgroup, makeDirsOrDrop } from './rootless';

/** Where a cgroupfs container's cgroup goes on this host. */
export function planCgroupfs(spec: Spec, id: string, rootless = false): CgroupState {
  const state = resolveCgroupDirs(hostCgroupLayout(), spec.linux?.cgroupsPath, id, ownCgroups());
  // The default path is tsrun/<id>: the tsrun level is ours to remove when it empties.
  if (!spec.linux?.cgroupsPath) state.removeEmptyParent = true;
  if (rootless) state.rootless = true;
  return state;
}

/** Whether a recorded cgroup has any directory left (a rootless one may have none). */
export function hasCgroupDirs(state: CgroupState): boolean {
  return Object.keys(state.paths).length > 0;
}

/** What the v1 and v2 cgroupfs drivers share: all but how the files are reached and where an exec'd process may go. */
export abstract class CgroupfsCgroup implements ContainerCgroup {
  constructor(readonly state: CgroupState) {}

  /** A new manager each time: the state's paths may have changed since (a systemd scope adopts its real ones). */
  abstract files(): CgroupManager;

  /**
   * The directories exist and hold their limits before the init is forked.
   * Rootless: a directory the user may not make on the default path is
   * dropped (the state is updated in place), and then no limit may be asked.
   */
  prepare(resources: LinuxResources): void {
    const { rootless, removeEmptyParent: defaultPath, version } = this.state;
    const denied = makeDirsOrDrop(version, this.state.paths, (controllers) => rootless === true && (defaultPath === true || controllers.every((c) => isTrackingOnly(version, c))));
    if (denied !== undefined) {
      const field = firstLimitField(resources);
      if (field !== undefined) throw limitWithoutCgroup(field, denied);
    }
    if (!hasCgroupDirs(this.state)) return;
    const cgroup = this.files();
    cgroup.create();
    cgroup.setResources(resources, { skipDevices: this.state.rootless });
  }

  /** Rootless: a tracking-only hierarchy (see isTrackingOnly) the user may not join is let be. */
  placeInit(pid: number): void {
    const { rootless, version, paths } = this.state;
    if (!rootless) return this.files().addProcess(pid);
    for (const dir of new Set(Object.values(paths))) {
      try {
        writeCgroupFile(`${dir}/cgroup.procs`, String(pid));
      } catch (err) {
        const trackingOnly = Object.keys(paths).every((c) => paths[c] !== dir || isTrackingOnly(version, c));
        if (!trackingOnly || !isPermissionError(err)) throw err;
      }
    }
  }

  /** Rootless: an exec'd process that may not join stays where the caller is, as with runc. */
  placeExec(pid: number, _initPid: number, sub?: SubCgroupPaths): void {
    try {
      if (!hasSubCgroups(sub)) return this.files().addProcess(pid);
      for (const dir of new Set(Object.values(execCgroupDirs(this.state, sub)))) writeCgroupFile(`${dir}/cgroup.procs`, String(pid));
    } catch (err) {
      if (!this.state.rootless) throw err;
    }
  }

  /** Device rules are rewritten only when given, and never by a rootless container (its user namespace keeps them). */
  update(resources: LinuxResources): void {
    this.files().setResources(resources, { skipDevices: resources.devices === undefined || this.state.rootless });
  }

  /** Removes the directories and, for the default path, the shared tsrun level if now empty. */
  destroy(): void {
    if (!hasCgroupDirs(this.state)) return;
    this.files().destroy();
    if (!this.state.removeEmptyParent) return;
    for (const dir of new Set(Object.values(this.state.paths).map((d) => dirname(d)))) {
      try {
        rmdirSync(dir);
      } catch {
        // another container still uses it, or it is already gone
      }
    }
  }
}

export class CgroupfsV1 extends CgroupfsCgroup {
  files(): CgroupManager {
    return new V1Manager(this.state.paths);
  }
}

export class CgroupfsV2 extends CgroupfsCgroup {
  files(): CgroupManager {
    return new V2Manager(this.state.paths[''], unifiedMount(), applyV2DeviceRules);
  }

  /**
   * A container whose own programs made sub-cgroups and gave them
   * controllers (systemd as its init moves itself to init.scope) may hold no
   * process at its top: the kernel's "no internal processes" rule answers
   * EBUSY, and the process joins the init's cgroup instead, as runc does.
   */
  override placeExec(pid: number, initPid: number, sub?: SubCgroupPaths): void {
    try {
      super.placeExec(pid, initPid, sub);
    } catch (err) {
      // A sub-cgroup asked for (even "/") is where the process goes, or nowhere.
      if (!(err instanceof CgroupWriteError) || err.code !== 'EBUSY' || hasSubCgroups(sub)) throw err;
      const initCgroup = parseProcCgroup(readFileSync(`/proc/${initPid}/cgroup`, 'utf8')).get('');
      if (initCgroup === undefined) throw err;
      writeCgroupFile(join(unifiedMount(), initCgroup, 'cgroup.procs'), String(pid));
    }
  }
}

function unifiedMount(): string {
  return hostCgroupLayout().unifiedMount ?? '/sys/fs/cgroup';
}
