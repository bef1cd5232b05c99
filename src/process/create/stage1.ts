// Stage 1: the first child. It enters the container's namespaces (joining
// those given by path, then creating the rest, the user namespace first) and
// forks the init, which is the first process of any new pid namespace.
import { writeFileSync } from 'node:fs';
import { joinNamespaceFd, unshareNamespaces } from '../../linux/namespaces';
import { becomeRootInNamespace, exitNow, prctlSet, PR_SET_DUMPABLE } from '../../linux/proc';
import { forkChild } from '../../linux/fork';
import { closeFd, openFd, O_CLOEXEC, O_RDONLY } from '../../linux/fd';
import type { ContainerPlan } from '../plan/container-plan';
import { holdExecFifo } from './start-fifo';
import { MessageReader, runForkedChild, sendMessage, type ParentMessage, type SyncChannel } from '../channel/sync';
import { formatTimeOffsets } from './id-mappings';
import { runInit } from './init';

/** Never returns: the process ends with _exit. */
export function runStage1(plan: ContainerPlan, channel: SyncChannel): never {
  const report = channel.toParent.write;
  return runForkedChild(report, () => {
    closeFd(channel.toParent.read);
    closeFd(channel.toChild.write);
    const fromParent = new MessageReader<ParentMessage>(channel.toChild.read);
    // Nothing of the container may run before it is in its cgroup.
    if (fromParent.next()?.type !== 'proceed') throw new Error('parent did not place stage 1 in its cgroup');
    // Opened while still the host's root, before entering any namespace: as
    // root of a new user namespace the init may not search a 0700 state root
    // (runc too hands its init an open fifo). The init reopens it by fd.
    const fifoFd = holdExecFifo(plan.fifoPath);
    enterNamespaces(plan, channel, fromParent);
    const pid = forkChild({ retry: !plan.create.includes('pid') });
    if (pid === 0) runInit({ ...plan, fifoPath: `/proc/self/fd/${fifoFd}` }, report, channel.toChild.read);
    closeFd(channel.toChild.read);
    sendMessage(report, { type: 'init-forked', pid });
  });
}

/**
 * Every namespace given by path is opened before any is joined, as runc's
 * nsexec does: once in another user namespace this process has no
 * privilege over the host's /proc, and the namespace files of a process
 * that is not dumpable (a created container's waiting init) then refuse to
 * open (EACCES); once in another mount namespace a path would resolve there.
 */
function enterNamespaces(plan: ContainerPlan, channel: SyncChannel, fromParent: MessageReader<ParentMessage>): void {
  const fds = plan.join.map((ns) => openFd(ns.path, O_RDONLY | O_CLOEXEC));
  plan.join.forEach((ns, i) => {
    joinNamespaceFd(ns.kind, fds[i], ns.path);
    closeFd(fds[i]);
    // The host's root is nobody in a joined user namespace: files and
    // mounts it made there would belong to an unmapped id (EOVERFLOW).
    // Become the namespace's root, as for a new one and as runc does.
    if (ns.kind === 'user') becomeRootInNamespace();
  });
  if (plan.newUserNamespace) {
    unshareNamespaces(['user']);
    sendMessage(channel.toParent.write, { type: 'userns-created' });
    const answer = fromParent.next();
    if (answer?.type !== 'mappings-written') throw new Error('parent did not write the id mappings');
    becomeRootInNamespace();
  }
  unshareNamespaces(plan.create);
  if (plan.create.includes('time')) {
    const offsets = formatTimeOffsets(plan.spec);
    if (offsets) writeTimeOffsets(offsets, plan.inUserNamespace);
  }
}

/**
 * Once root of a user namespace, the process is not dumpable (its ids
 * changed), so its /proc/self files belong to the host's root, for whom the
 * namespace's root cannot write: EACCES. Dumpable for the write only.
 */
function writeTimeOffsets(offsets: string, inUserNamespace: boolean): void {
  if (!inUserNamespace) {
    writeFileSync('/proc/self/timens_offsets', offsets);
    return;
  }
  prctlSet(PR_SET_DUMPABLE, 1, 'PR_SET_DUMPABLE');
  try {
    writeFileSync('/proc/self/timens_offsets', offsets);
  } finally {
    prctlSet(PR_SET_DUMPABLE, 0, 'PR_SET_DUMPABLE');
  }
}
