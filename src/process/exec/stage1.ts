// Stage 1 of `tsrun exec` (runc's setns path): the first child. Once the
// parent has put it in the container's cgroup, it opens the init's namespace
// files and root, joins every namespace but the mount one (user first), and
// forks the process to exec: a pid or time namespace applies only to the
// children of whoever joins it. It reports that process' pid and exits.
import { joinNamespaceFd } from '../../linux/namespaces';
import { becomeRootInNamespace, exitNow } from '../../linux/proc';
import { forkChild } from '../../linux/fork';
import { closeFd, openFd, O_CLOEXEC, O_DIRECTORY, O_PATH, O_RDONLY } from '../../linux/fd';
import type { ExecPlan } from '../plan/exec-plan';
import { readProcStat } from '../../linux/proc-info';
import { MessageReader, runForkedChild, sendMessage, type ParentMessage, type SyncChannel } from '../channel/sync';
import { runExecChild, type ContainerHandles } from './child';

/** Never returns: the process ends with _exit. */
export function runExecStage1(plan: ExecPlan, channel: SyncChannel): never {
  const report = channel.toParent.write;
  return runForkedChild(report, () => {
    closeFd(channel.toParent.read);
    closeFd(channel.toChild.write);
    // Nothing may run in the container before it is in the container's cgroup.
    const answer = new MessageReader<ParentMessage>(channel.toChild.read).next();
    if (answer?.type !== 'proceed') throw new Error('the runtime did not place the exec process in the container cgroup');
    closeFd(channel.toChild.read);
    const handles = openContainerHandles(plan);
    joinNamespaces(plan, handles.namespaces);
    const pid = forkChild();
    if (pid === 0) runExecChild(plan, handles, report);
    sendMessage(report, { type: 'exec-forked', pid });
  });
}

/**
 * Everything is opened before any namespace is joined: afterwards this
 * process may no longer be privileged over the host's /proc. The init is
 * checked to be the same process once its files are open, so the handles
 * cannot belong to a process that reused its pid.
 */
function openContainerHandles(plan: ExecPlan): ContainerHandles & { namespaces: number[] } {
  const namespaces = plan.join.map((ns) => openFd(ns.path, O_RDONLY | O_CLOEXEC));
  const mountFd = plan.mountNamespace ? openFd(plan.mountNamespace, O_RDONLY | O_CLOEXEC) : -1;
  const rootFd = openFd(plan.rootPath, O_PATH | O_DIRECTORY | O_CLOEXEC);
  const stat = readProcStat(plan.initPid);
  if (!stat || stat.startTime !== plan.initStartTime || stat.state === 'Z' || stat.state === 'X') {
    throw new Error('container not running');
  }
  return { namespaces, mountFd, rootFd };
}

function joinNamespaces(plan: ExecPlan, fds: number[]): void {
  plan.join.forEach((ns, i) => {
    joinNamespaceFd(ns.kind, fds[i], ns.path);
    closeFd(fds[i]);
    // Host root is nobody in the container's user namespace: become its root
    // (still with every capability there) until the user switch.
    if (ns.kind === 'user') becomeRootInNamespace();
  });
}
