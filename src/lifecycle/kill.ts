// `kill`: signal the init, or with --all every process of the container.
import { UserError } from '../errors';
import { sendSignal } from '../linux/signals';
import { Container, type Status } from './container';
import { StateStore } from './store';
import { processesWithoutCgroup } from './processes';
import { openContainerCgroup } from '../cgroups/manager';
import type { CgroupManager } from '../cgroups/types';

export async function killContainer(root: string, id: string, signal: number, all: boolean): Promise<void> {
  const store = new StateStore(root);
  const container = Container.load(store, id);
  const status = container.status();
  if (notStarted(status) && endsProcessByDefault(signal)) {
    // Under the lock, so that a concurrent `start` cannot turn this SIGKILL
    // into one aimed at the user's program (and a create still running
    // finishes first).
    const { withContainerLock } = await import('./lock');
    return withContainerLock(root, id, () => signalContainer(Container.load(store, id), signal, all));
  }
  signalContainer(container, signal, all);
}

/** The init waits for `start`, or, left `creating` by a killed create, may still be on its way there. */
function notStarted(status: Status): boolean {
  return status === 'created' || status === 'creating';
}

function signalContainer(container: Container, signal: number, all: boolean): void {
  const status = container.status();
  // No init yet (pid 0 would signal our own process group).
  if (status === 'creating' && container.record.pid === 0) throw new UserError('container not running: it is still being created');
  if (notStarted(status) && endsProcessByDefault(signal)) {
    // The waiting init is still tsrun's code: Node's inherited handlers swallow
    // most signals, and as pid 1 of a new pid namespace it is immune to those
    // it has no handler for. The user's program has not run, so a signal whose
    // default action would end it ends the init instead (runc's Go init dies too).
    signal = SIGKILL;
  }
  if (all) {
    if (status !== 'stopped') signalAll(container, signal);
    return;
  }
  if (status === 'stopped') throw new UserError('container not running');
  sendSignal(container.record.pid, signal);
}

const SIGKILL = 9;
/** Signals whose default action is not to terminate or dump core: kill, cont, chld, stop, tstp, ttin, ttou, urg, winch. */
const NOT_ENDING_BY_DEFAULT = new Set([0, 9, 17, 18, 19, 20, 21, 22, 23, 28]);

function endsProcessByDefault(signal: number): boolean {
  return !NOT_ENDING_BY_DEFAULT.has(signal);
}

/**
 * Every process of the container: those in its cgroup, or without one
 * those processesWithoutCgroup finds (the init first: with SIGKILL the
 * kernel then takes the rest of a pid namespace).
 */
function signalAll(container: Container, signal: number): void {
  if (container.record.cgroup) {
    signalCgroup(openContainerCgroup(container.record.cgroup).files(), signal);
    return;
  }
  for (const pid of processesWithoutCgroup(container.record)) sendSignal(pid, signal);
}

/** Frozen processes only act on a signal once thawed: a SIGKILL to a paused container thaws it. */
export function signalCgroup(cgroup: CgroupManager, signal: number): void {
  for (const pid of cgroup.pids()) sendSignal(pid, signal);
  if (signal === SIGKILL && cgroup.isFrozen()) cgroup.thaw();
}
