// The exec'd process between fork and execve: its own steps (entering the
// container's root, its terminal), then the process steps it shares with the
// container init (setup/steps.ts). Runs in the forked child, so only
// synchronous calls. It says nothing when all goes well: the report pipe is
// close-on-exec, so the parent sees it close at execve; on a failure it
// sends one `error`.
import { changeDirFd, exitNow } from '../../linux/proc';
import { changeRoot } from '../../linux/mount';
import { closeFd } from '../../linux/fd';
import { joinNamespaceFd } from '../../linux/namespaces';
import { setDumpable } from '../../linux/sched';
import { execSeccompOwner, type ExecPlan } from '../plan/exec-plan';
import { noteHostPid } from '../setup/seccomp-listener';
import { execProcess, newProcessSetup, processSteps, runSteps, type ProcessSetup, type Step } from '../setup/steps';
import { reportError } from '../channel/sync';
import { attachExecTerminal } from './terminal';

/** Descriptors stage 1 opened before it entered any namespace (close-on-exec). */
export interface ContainerHandles {
  /** The init's mount namespace, or -1 when it is the runtime's. */
  mountFd: number;
  /** The init's root directory (O_PATH). */
  rootFd: number;
}

interface ChildState {
  handles: ContainerHandles;
  setup: ProcessSetup;
}

/** Every step before execve, in order. */
export const EXEC_STEPS: ReadonlyArray<Step<ExecPlan, ChildState>> = [
  // First: a non-dumpable process cannot be reached through /proc by the
  // container (CVE-2019-5736); execve of the program ends it.
  ['not dumpable', () => setDumpable(false)],
  // While the runtime's /proc is still the one mounted: the agent needs the host pid.
  ['seccomp agent pid', (plan) => noteHostPid(execSeccompOwner(plan))],
  ['container root', (plan, st) => enterContainerRoot(plan, st.handles)],
  ['terminal', (plan) => attachExecTerminal(plan.terminal, plan.process.config)],
  ...processSteps<ExecPlan, ChildState>(),
];

/**
 * setns into a mount namespace moves root and cwd to that namespace's root
 * mount, which is not the container's root when the init chroot'ed
 * (--no-pivot, or no mount namespace at all). The init's own root, opened
 * beforehand, is: chroot to it, as runc's nsexec does.
 */
function enterContainerRoot(plan: ExecPlan, handles: ContainerHandles): void {
  if (handles.mountFd >= 0) {
    joinNamespaceFd('mount', handles.mountFd, plan.mountNamespace ?? 'mnt');
    closeFd(handles.mountFd);
  }
  changeDirFd(handles.rootFd);
  changeRoot('.');
  closeFd(handles.rootFd);
}

/** Never returns: ends in execve or _exit. */
export function runExecChild(plan: ExecPlan, handles: ContainerHandles, report: number): never {
  // An exec'd process' agent hears the container's status whenever its filter loads.
  const agent = { owner: execSeccompOwner(plan), early: plan.containerStatus, late: plan.containerStatus };
  const state: ChildState = { handles, setup: newProcessSetup(plan.process, agent) };
  try {
    runSteps(EXEC_STEPS, plan, state);
    // The report pipe stays open to execve (close-on-exec): its closing tells the parent the exec happened.
    execProcess(state.setup);
  } catch (err) {
    reportError(report, err);
  }
  return exitNow(1);
}
