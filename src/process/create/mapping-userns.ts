// A user namespace that exists only to carry id mappings: mount_setattr(2)
// takes the mapping of an idmapped mount from a user namespace fd. A
// short-lived child makes the namespace, the parent writes its maps and
// opens /proc/PID/ns/user; the open fd keeps the namespace alive after the
// child is gone. The child is killed and reaped before this returns.
import { writeFileSync } from 'node:fs';
import type { LinuxIDMapping } from '../../spec/types';
import { forkChild } from '../../linux/fork';
import { closeFd, makePipe, openFd, readFd, writeFd, O_CLOEXEC, O_RDONLY } from '../../linux/fd';
import { unshareNamespaces } from '../../linux/namespaces';
import { waitPid } from '../../linux/proc';
import { sendSignal } from '../../linux/signals';
import { runForkedChild } from '../channel/sync';
import { formatIdMap } from './id-mappings';

const MADE = 'u';

/** An fd (close-on-exec) of a new user namespace with these maps. The caller closes it. */
export function userNamespaceWithMappings(uidMappings: LinuxIDMapping[], gidMappings: LinuxIDMapping[]): number {
  const made = makePipe();
  const hold = makePipe();
  let pid: number;
  try {
    pid = forkChild();
  } catch (err) {
    for (const fd of [made.read, made.write, hold.read, hold.write]) closeFd(fd);
    throw err;
  }
  if (pid === 0) {
    runForkedChild(made.write, () => {
      closeFd(made.read);
      closeFd(hold.write);
      unshareNamespaces(['user']);
      writeFd(made.write, MADE);
      // Stay until the parent has opened the namespace (it then kills us).
      readFd(hold.read, 1);
    });
  }
  closeFd(made.write);
  closeFd(hold.read);
  try {
    const said = readFd(made.read, 4096).toString();
    if (said !== MADE) throw new Error(`the helper for an idmapped mount's user namespace failed: ${describeFailure(said)}`);
    writeMap(pid, 'uid', uidMappings);
    writeMap(pid, 'gid', gidMappings);
    return openFd(`/proc/${pid}/ns/user`, O_RDONLY | O_CLOEXEC);
  } finally {
    closeFd(made.read);
    closeFd(hold.write);
    sendSignal(pid, 9);
    waitPid(pid);
  }
}

function writeMap(pid: number, kind: 'uid' | 'gid', maps: LinuxIDMapping[]): void {
  try {
    writeFileSync(`/proc/${pid}/${kind}_map`, formatIdMap(maps));
  } catch (err) {
    throw new Error(`write /proc/${pid}/${kind}_map: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** The child's error report (a JSON line from runForkedChild), or that it died silently. */
function describeFailure(said: string): string {
  if (said === '') return 'it exited without a word';
  try {
    const message = JSON.parse(said.split('\n')[0]) as { report?: { message?: string } };
    return message.report?.message ?? said.trim();
  } catch {
    return said.trim();
  }
}
