// `kill`: signal the init, or with --all every process of the container.
import { readdirSync, readlinkSync } from 'node:fs';
import { UserError } from '../errors';
import { sendSignal } from '../linux/signals';
import { Container } from './container';
import { StateStore } from './store';
import { openContainerCgroup } from '../cgroups/manager';
import type { CgroupManager } from '../cgroups/types';

export async function killContainer(root: string, id: string, signal: number, all: boolean): Promise<void> {
  const store = new StateStore(root);
  const container = Container.load(store, id);
  const status = container.status();
  if (status === 'created' && endsProcessByDefault(signal)) {
    // Under the lock, so that a concurrent `start` cannot turn this SIGKILL
    // into one aimed at the user's program.
    const { withContainerLock } = await import('./lock');
    return withContainerLock(root, id, () => signalContainer(Container.load(store, id), signal, all));
  }
  signalContainer(container, signal, all);
}

function signalContainer(container: Container, signal: number, all: boolean): void {
  const status = container.status();
  if (status === 'created' && endsProcessByDefault(signal)) {
    // The waiting init is still tsrun's code: Node's inherited handlers swallow
    // most signals, and as pid 1 of a new pid namespace it is immune to those
    // it has no handler for. The user's program has not run, so a signal whose
    // default action would end it ends the init instead (runc's Go init dies too).
    signal = SIGKILL;
  }
  // No init yet (pid 0 would signal our own process group).
  if (status === 'creating') throw new UserError('container not running: it is still being created');
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
 * Every process of the container: those in its cgroup. (States written
 * before cgroups: those in its private pid namespace; when it shares the
 * host's, only the init can be told apart safely.)
 */
function signalAll(container: Container, signal: number): void {
  const initPid = container.record.pid;
  if (container.record.cgroup) {
    signalCgroup(openContainerCgroup(container.record.cgroup).files(), signal);
    return;
  }
  if (!container.record.privatePidNamespace) {
    sendSignal(initPid, signal);
    return;
  }
  const pidNs = namespaceOf(initPid);
  // The init first: with SIGKILL the kernel then takes the rest of the namespace.
  sendSignal(initPid, signal);
  if (pidNs === null) return;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === initPid) continue;
    if (namespaceOf(Number(name)) === pidNs) sendSignal(Number(name), signal);
  }
}

function namespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/** Frozen processes only act on a signal once thawed: a SIGKILL to a paused container thaws it. */
export function signalCgroup(cgroup: CgroupManager, signal: number): void {
  for (const pid of cgroup.pids()) sendSignal(pid, signal);
  if (signal === SIGKILL && cgroup.isFrozen()) cgroup.thaw();
}
