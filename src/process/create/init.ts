// The container init: everything between fork and execve, as an explicit
// ordered list of steps. Runs in the forked child, so only synchronous calls.
import type { ContainerPlan } from '../plan/container-plan';
import { bringLoopbackUp } from '../../linux/net';
import { changeDir, execProgram, exitNow, newSession, prctlSet, PR_SET_NO_NEW_PRIVS, setDomainname, setHostname } from '../../linux/proc';
import { writeFd } from '../../linux/fd';
import { prepareRootfs, switchRoot, finishRootfs } from '../rootfs/rootfs';
import { hasCreateHooks, hookState } from '../../hooks/hook-points';
import { runHooks } from '../../hooks/run-hook';
import { hostPidOfSelf } from '../../linux/proc-info';
import { currentPid } from '../../linux/proc';
import { holdExecFifo, waitForStart } from './start-fifo';
import { cleanProcessForExec, enterWorkingDir, lookPath, withHome } from '../setup/program';
import { MessageReader, reportError, sendMessage, type ParentMessage } from '../channel/sync';
import { setDumpable } from '../../linux/sched';
import { applyProcessAttributes, applyRlimits, switchUserKeepingCapabilities } from '../setup/process-setup';
import { hardenRootfs } from '../rootfs/hardening';
import { setExecLabels } from '../../linux/lsm';
import { loadSeccompBeforeCapabilityDrop, loadSeccompBeforeExec, seccompFdsToKeep } from '../setup/seccomp-load';
import { noteHostPid } from '../setup/seccomp-listener';
import { setupContainerTerminal } from '../setup/terminal';

interface InitState {
  fifoFd: number;
  program: string;
  env: string[];
  /** Where `ready`, `run-hooks` and errors go. */
  report: number;
  /** Messages from the parent (hooks-done). */
  fromParent: MessageReader<ParentMessage>;
  /** This process' pid as the runtime sees it (the hooks' state needs it). */
  hostPid: number;
}

type Step = [name: string, run: (plan: ContainerPlan, state: InitState) => void];

/** Steps up to `ready`; a failure in any of them fails `create`. */
const SETUP_STEPS: Step[] = [
  // First: a non-dumpable process cannot be reached through /proc by the
  // container (CVE-2019-5736); execve of the program ends it.
  ['not dumpable', () => setDumpable(false)],
  ['new session', () => newSession()],
  ['enter bundle', (plan) => changeDir(plan.bundle)],
  ['hold exec fifo', (plan, st) => (st.fifoFd = holdExecFifo(plan.fifoPath))],
  ['host pid', (_plan, st) => (st.hostPid = hostPidOfSelf() || currentPid())],
  ['seccomp agent pid', (plan, st) => noteHostPid(plan, st.hostPid)],
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
  ['personality, I/O priority, scheduler', (plan) => applyProcessAttributes(plan.attributes)],
  ['rlimits', (plan) => applyRlimits(plan.rlimits)],
  // Without no_new_privs loading needs CAP_SYS_ADMIN: before the drop (runc's order).
  ['seccomp without no_new_privs', (plan) => loadSeccompBeforeCapabilityDrop(plan)],
  ['user and capabilities', (plan) => switchUserKeepingCapabilities(plan.spec.process?.user, plan.capabilities, plan.lastCap)],
  ['no new privileges', (plan) => plan.spec.process?.noNewPrivileges && prctlSet(PR_SET_NO_NEW_PRIVS, 1, 'PR_SET_NO_NEW_PRIVS')],
  ['cwd', (plan) => enterWorkingDir(plan.spec.process?.cwd ?? '/', 'config.json: /process/cwd')],
  ['find program', (plan, st) => findProgram(plan, st)],
  ['LSM labels', (plan) => setExecLabels(plan.spec.process?.apparmorProfile, plan.spec.process?.selinuxLabel)],
];

function findProgram(plan: ContainerPlan, st: InitState): void {
  const proc = plan.spec.process;
  if (!proc?.args?.length) throw new Error('config.json: /process/args: must not be empty');
  st.env = withHome(proc.env ?? [], proc.user?.uid ?? 0);
  st.program = lookPath(proc.args[0], st.env);
}

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
  const state: InitState = { fifoFd: -1, program: '', env: [], report, fromParent: new MessageReader<ParentMessage>(fromParentFd), hostPid: 0 };
  try {
    for (const [, run] of SETUP_STEPS) run(plan, state);
    sendMessage(report, { type: 'ready' });
  } catch (err) {
    reportError(report, err);
    return exitNow(1);
  }
  try {
    waitForStart(state.fifoFd);
    runHooks('startContainer', plan.spec.hooks?.startContainer, hookState(plan, 'created', state.hostPid));
    cleanProcessForExec(plan.preserveFds, seccompFdsToKeep(plan));
    loadSeccompBeforeExec(plan);
    execProgram(state.program, plan.spec.process?.args ?? [], state.env);
  } catch (err) {
    try {
      writeFd(2, `tsrun: ${(err as Error).message}\n`);
    } catch {
      // no stderr
    }
  }
  return exitNow(127);
}
