// `kill`: signal the init, or with --all every process of the container.
import { readdirSync, readlinkSync } from 'node:fs';
import { UserError } from '../errors';
import { sendSignal } from '../linux/signals';
import { Container } from './container';
import { StateStore } from './store';

export function killContainer(root: string, id: string, signal: number, all: boolean): void {
  const container = Container.load(new StateStore(root), id);
  const status = container.status();
  if (all) {
    if (status !== 'stopped') signalAll(container, signal);
    return;
  }
  if (status === 'stopped') throw new UserError('container not running');
  sendSignal(container.record.pid, signal);
}

/**
 * Without a cgroup to enumerate, "every process of the container" is every
 * process in its private pid namespace; when the container shares the host's,
 * only the init can be told apart safely.
 */
function signalAll(container: Container, signal: number): void {
  const initPid = container.record.pid;
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
