// linux.intelRdt (config-linux.md "IntelRdt"): the container's resctrl
// group. Planned before anything is made (which group, whether tsrun makes
// it, the schemata lines checked against the resources in info/), then
// made, joined by each of the container's processes, updated, and removed
// on delete by the spec's rules.
import { join } from 'node:path';
import type { LinuxIntelRdt } from '../spec/types';
import { configError, UserError } from '../errors';
import { hostResctrlMount, kernelHasResctrl } from '../linux/resctrl-mount';
import { kernelTree, type ResctrlTree } from './tree';
import { resourceOf, schemataHolds, schemataLines, type SchemataLine } from './schemata';

/** What the container's state records, for exec, update and delete. */
export interface IntelRdtState {
  /** The resctrl mount point. */
  root: string;
  /** The CTRL_MON group's directory (the root itself for closID "/"). */
  group: string;
  /** Only a group tsrun made for the container's id (no closID) is removed on delete. */
  removeGroup: boolean;
  /** mon_groups/<id> with enableMonitoring: always the container's own, always removed. */
  monGroup?: string;
}

export interface IntelRdtPlan {
  state: IntelRdtState;
  /** The group does not exist yet: create makes it. */
  makeGroup: boolean;
  /** The lines to write to the group's schemata file, in the spec's order. */
  write: SchemataLine[];
}

const PTR = '/linux/intelRdt';
/** Names in the resctrl root that are not groups. */
const NOT_GROUPS = ['info', 'mon_groups', 'mon_data', '.', '..'];

/** The host's resctrl tree, or the one-line refusal naming `pointer`. */
export function hostResctrl(pointer: string): ResctrlTree {
  const mount = hostResctrlMount();
  if (mount !== null) return kernelTree(mount);
  const why = kernelHasResctrl()
    ? 'the kernel has it: mount -t resctrl resctrl /sys/fs/resctrl'
    : 'this kernel or CPU has no resctrl filesystem: not in /proc/filesystems';
  throw configError(pointer, `resctrl is not mounted on this host (${why})`);
}

export function planIntelRdt(rdt: LinuxIntelRdt, id: string, tree: ResctrlTree): IntelRdtPlan {
  const group = groupDir(rdt.closID, id, tree.root);
  const exists = tree.exists(group);
  const lines = schemataLines(rdt);
  checkResources(lines, tree);
  if (rdt.closID === undefined && exists) {
    throw configError(PTR, `resctrl group ${group} already exists, and tsrun makes the group named after the container's id itself (give closID to join an existing group)`);
  }
  if (rdt.closID !== undefined && lines.length === 0 && !exists) {
    throw configError(`${PTR}/closID`, `resctrl group ${group} does not exist (without schemata it must be made beforehand)`);
  }
  // An existing group keeps its cache and bandwidth settings: the config must agree with them.
  if (exists) checkExistingSchemata(group, lines, tree);
  const write = exists ? lines.filter((l) => l.pointer.startsWith(`${PTR}/schemata/`)) : lines;
  const monGroup = rdt.enableMonitoring ? monGroupOf(group, id, tree) : undefined;
  return {
    state: { root: tree.root, group, removeGroup: rdt.closID === undefined, ...(monGroup && { monGroup }) },
    makeGroup: !exists,
    write,
  };
}

/** closID "/" is the root group; any other closID (or the id) one directory right under the root. */
function groupDir(closID: string | undefined, id: string, root: string): string {
  if (closID === '/') return root;
  const name = closID ?? id;
  if (name.includes('/') || NOT_GROUPS.includes(name) || name === '') {
    throw configError(`${PTR}/closID`, `${JSON.stringify(name)} is not a resctrl group name (one directory name, not info, mon_groups or mon_data; "/" for the root group)`);
  }
  return join(root, name);
}

/** Every line must set a resource this host has (a directory in info/, monitoring ones aside). */
export function checkResources(lines: SchemataLine[], tree: ResctrlTree): void {
  const resources = tree.list(join(tree.root, 'info')).filter((n) => !n.endsWith('_MON') && n !== 'last_cmd_status');
  for (const l of lines) {
    const resource = resourceOf(l.line);
    if (resource === null) throw configError(l.pointer, `${JSON.stringify(l.line)} is not a schemata line (expected "RESOURCE:id=value;...")`);
    if (!resources.includes(resource)) {
      throw configError(l.pointer, `resource ${resource} is not available on this host (resctrl info/ has: ${resources.join(', ') || 'none'})`);
    }
  }
}

function checkExistingSchemata(group: string, lines: SchemataLine[], tree: ResctrlTree): void {
  const current = tree.read(join(group, 'schemata'));
  for (const l of lines) {
    if (l.pointer.startsWith(`${PTR}/schemata/`)) continue;
    let holds: boolean;
    try {
      holds = schemataHolds(current, l.line);
    } catch (err) {
      throw configError(l.pointer, (err as Error).message);
    }
    if (!holds) throw configError(l.pointer, `${JSON.stringify(l.line)} does not match the existing group ${group} (its schemata: ${current.trim().split('\n').join('; ')})`);
  }
}

function monGroupOf(group: string, id: string, tree: ResctrlTree): string {
  if (!tree.exists(join(tree.root, 'info', 'L3_MON'))) {
    throw configError(`${PTR}/enableMonitoring`, 'this host has no resctrl monitoring (no info/L3_MON)');
  }
  const mon = join(group, 'mon_groups', id);
  if (tree.exists(mon)) throw configError(`${PTR}/enableMonitoring`, `monitoring group ${mon} already exists`);
  return mon;
}

/**
 * Makes what the plan says, pushing the undo of each step: the group (when
 * new), its schemata lines, the monitoring group. No process is in it yet.
 */
export function makeIntelRdtGroup(plan: IntelRdtPlan, tree: ResctrlTree, undo: Array<() => void>): void {
  if (plan.makeGroup) {
    tree.mkdir(plan.state.group);
    undo.push(() => tree.rmdir(plan.state.group));
  }
  writeSchemata(plan.state, plan.write, tree);
  const mon = plan.state.monGroup;
  if (mon) {
    tree.mkdir(mon);
    undo.push(() => tree.rmdir(mon));
  }
}

/** One write per line, so a refused line is named by the field it came from. */
export function writeSchemata(state: IntelRdtState, lines: SchemataLine[], tree: ResctrlTree): void {
  for (const l of lines) {
    try {
      tree.write(join(state.group, 'schemata'), `${l.line}\n`);
    } catch (err) {
      const detail = `${JSON.stringify(l.line)}: ${(err as Error).message}`;
      // A config field is named by its pointer; an update flag (--l3-cache-schema) by itself.
      throw l.pointer.startsWith('/') ? configError(l.pointer, detail, err) : new UserError(`${l.pointer}: ${detail}`, { cause: err });
    }
  }
}

/**
 * Moves `pid` into the group, then its monitoring group (a task must be in
 * the CTRL_MON group before one of its MON groups). Its children are born there.
 */
export function joinIntelRdt(state: IntelRdtState, pid: number, tree: ResctrlTree): void {
  tree.write(join(state.group, 'tasks'), String(pid));
  if (state.monGroup) tree.write(join(state.monGroup, 'tasks'), String(pid));
}

/** On delete: the monitoring group always, the group only when tsrun made it for the id. */
export function removeIntelRdt(state: IntelRdtState, tree: ResctrlTree): void {
  if (state.monGroup && tree.exists(state.monGroup)) tree.rmdir(state.monGroup);
  if (state.removeGroup && tree.exists(state.group)) tree.rmdir(state.group);
}

/**
 * delete's side: the recorded group removed by the rules above. Where
 * resctrl is no longer mounted there is nothing to remove (unmounting it
 * drops every group), and delete must still be able to finish.
 */
export function removeRecordedIntelRdt(state: IntelRdtState): void {
  if (hostResctrlMount() !== state.root) return;
  removeIntelRdt(state, kernelTree(state.root));
}

/** The tree a recorded group lives in, still mounted where it was. */
export function recordedTree(state: IntelRdtState): ResctrlTree {
  const tree = hostResctrl(PTR);
  if (tree.root !== state.root) throw new UserError(`resctrl is now mounted at ${tree.root}, not at ${state.root} where the container's group was made`);
  return tree;
}
