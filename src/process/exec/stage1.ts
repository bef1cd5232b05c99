// Stage 1 of `tsrun exec` (runc's setns path): the first child. Once the
// parent has put it in the container's cgroup, it opens the init's namespace
// files and root, joins every namespace but the mount one (user first), and
// forks the process to exec: a pid or time namespace applies only to the
// children of whoever joins it. It reports that process' pid and exits.
import { forkChild } from '../../linux/fork';
import { closeFd, openFd, O_CLOEXEC, O_DIRECTORY, O_PATH, O_RDONLY } from '../../linux/fd';
import { isSameLiveProcess } from '../../linux/proc-info';
import type { ExecPlan } from '../plan/exec-plan';
import { expectMessage, MessageReader, runForkedChild, sendMessage, type ParentMessage, type SyncChannel } from '../channel/sync';
import { joinNamespaces, openNamespaces } from '../setup/namespaces';
import { runSteps, type Step } from '../setup/steps';
import { runExecChild, type ContainerHandles } from './child';

interface ExecStage1State {
  fromParent: MessageReader<ParentMessage>;
  namespaces: number[];
  handles: ContainerHandles;
}

/** Stage 1's steps, in order, before it forks the process. */
export const EXEC_STAGE1_STEPS: ReadonlyArray<Step<ExecPlan, ExecStage1State>> = [
  // Nothing may run in the container before it is in the container's cgroup.
  ['cgroup placement', (_plan, st) => expectMessage(st.fromParent, 'proceed', 'the runtime did not place the exec process in the container cgroup')],
  ['open the container', (plan, st) => openContainer(plan, st)],
  ['join namespaces', (plan, st) => joinNamespaces(plan.join, st.namespaces)],
];

/** Never returns: the process ends with _exit. */
export function runExecStage1(plan: ExecPlan, channel: SyncChannel): never {
  const report = channel.toParent.write;
  return runForkedChild(report, () => {
    closeFd(channel.toParent.read);
    closeFd(channel.toChild.write);
    const state: ExecStage1State = { fromParent: new MessageReader<ParentMessage>(channel.toChild.read), namespaces: [], handles: { mountFd: -1, rootFd: -1 } };
    runSteps(EXEC_STAGE1_STEPS, plan, state);
    closeFd(channel.toChild.read);
    const pid = forkChild();
    if (pid === 0) runExecChild(plan, state.handles, report);
    sendMessage(report, { type: 'exec-forked', pid });
  });
}

/**
 * Everything is opened before any namespace is joined: afterwards this
 * process may no longer be privileged over the host's /proc. The init is
 * checked to be the same process once its files are open, so the handles
 * cannot belong to a process that reused its pid.
 */
function openContainer(plan: ExecPlan, st: ExecStage1State): void {
  st.namespaces = openNamespaces(plan.join);
  st.handles.mountFd = plan.mountNamespace ? openFd(plan.mountNamespace, O_RDONLY | O_CLOEXEC) : -1;
  st.handles.rootFd = openFd(plan.rootPath, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (!isSameLiveProcess(plan.initPid, plan.initStartTime)) throw new Error('container not running');
}
