// The container init: everything between fork and execve, as an explicit
// ordered list of named steps: the container's own (root filesystem, hooks,
// terminal, hostname, hardening), then the process steps it shares with
// `tsrun exec` (setup/steps.ts). Runs in the forked child, so only
// synchronous calls.
import type { ContainerPlan } from '../plan/container-plan';
import { containerSeccompOwner } from '../plan/container-plan';
import { bringLoopbackUp } from '../../linux/net';
import { changeDir, currentPid, exitNow, newSession, setDomainname, setHostname } from '../../linux/proc';
import { writeFd } from '../../linux/fd';
import { setDumpable } from '../../linux/sched';
import { hostPidOfSelf } from '../../linux/proc-info';
import { prepareRootfs, switchRoot, finishRootfs } from '../rootfs/rootfs';
import { hardenRootfs } from '../rootfs/hardening';
import { hasCreateHooks, hookState } from '../../hooks/hook-points';
import { runHooks } from '../../hooks/run-hook';
import { holdExecFifo, waitForStart } from './start-fifo';
import { releaseIdleMemory } from '../../linux/idle-memory';
import { MessageReader, reportError, sendMessage, type ParentMessage } from '../channel/sync';
import { noteHostPid } from '../setup/seccomp-listener';
import { setupContainerTerminal } from '../setup/terminal';
import { execProcess, newProcessSetup, processSteps, runSteps, type ProcessSetup, type Step } from '../setup/steps';

interface InitState {
  fifoFd: number;
  /** Where `ready`, `run-hooks` and errors go. */
  report: number;
  /** Messages from the parent (hooks-done). */
  fromParent: MessageReader<ParentMessage>;
  /** This process' pid as the runtime sees it (the hooks' state needs it). */
  hostPid: number;
  setup: ProcessSetup;
}

/** The container's own steps, before the process steps. */
const CONTAINER_STEPS: Array<Step<ContainerPlan, InitState>> = [
  // First: a non-dumpable process cannot be reached through /proc by the
  // container (CVE-2019-5736); execve of the program ends it.
  ['not dumpable', () => setDumpable(false)],
  ['new session', () => newSession()],
  ['enter bundle', (plan) => changeDir(plan.bundle)],
  ['hold exec fifo', (plan, st) => (st.fifoFd = holdExecFifo(plan.fifoPath))],
  ['host pid', (_plan, st) => (st.hostPid = hostPidOfSelf() || currentPid())],
  ['seccomp agent pid', (plan, st) => noteHostPid(containerSeccompOwner(plan), st.hostPid)],
  ['loopback', (plan) => plan.create.includes('network') && bringLoopbackUp()],
  ['root filesystem', (plan) => prepareRootfs(plan)],
  ['create hooks', (plan, st) => runCreateHooks(plan, st)],
  ['switch root', (plan) => switchRoot(plan)],
  // After the root switch, so that /dev/ptmx is the container's devpts.
  ['terminal', (plan) => setupContainerTerminal(plan)],
  ['finish root filesystem', (plan) => finishRootfs(plan.spec)],
  ['hostname', (plan) => plan.spec.hostname !== undefined && setHostname(plan.spec.hostname)],
  ['domainname', (plan) => plan.spec.domainname !== undefined && setDomainname(plan.spec.domainname)],
  ['sysctl, read-only and masked paths', (plan) => hardenRootfs(plan.spec)],
];

/** Every step up to `ready`, in order; a failure in any of them fails `create`. */
export const INIT_STEPS: ReadonlyArray<Step<ContainerPlan, InitState>> = [...CONTAINER_STEPS, ...processSteps<ContainerPlan, InitState>()];

/**
 * Between the mounts and the root switch: the parent runs prestart and
 * createRuntime hooks (runtime namespace), then this process runs the
 * createContainer ones (container namespaces, host paths still visible).
 */
function runCreateHooks(plan: ContainerPlan, st: InitState): void {
  if (!hasCreateHooks(plan.spec)) return;
  sendMessage(st.report, { type: 'run-hooks' });
  const answer = st.fromParent.next();
  if (answer?.type !== 'hooks-done') throw new Error('the runtime did not run the create hooks');
  runHooks('createContainer', plan.spec.hooks?.createContainer, hookState(plan, 'creating', st.hostPid));
}

/** Never returns: ends in execve or _exit. */
export function runInit(plan: ContainerPlan, report: number, fromParentFd: number): never {
  // The agent is told `creating` for a filter loaded during create, `created` for one loaded at `start`.
  const setup = newProcessSetup(plan.process, { owner: containerSeccompOwner(plan), early: 'creating', late: 'created' });
  const state: InitState = { fifoFd: -1, report, fromParent: new MessageReader<ParentMessage>(fromParentFd), hostPid: 0, setup };
  try {
    runSteps(INIT_STEPS, plan, state);
    sendMessage(report, { type: 'ready' });
  } catch (err) {
    reportError(report, err);
    return exitNow(1);
  }
  try {
    // Last before blocking: what runs after the release faults its pages back in.
    waitForStart(state.fifoFd, plan.waitsForStart ? releaseIdleMemory : undefined);
    runHooks('startContainer', plan.spec.hooks?.startContainer, hookState(plan, 'created', state.hostPid));
    execProcess(setup);
  } catch (err) {
    // After `ready` nobody reads the report pipe: the container's stderr is where this goes.
    try {
      writeFd(2, `tsrun: ${(err as Error).message}\n`);
    } catch {
      // no stderr
    }
  }
  return exitNow(127);
}
