// The exec'd process between fork and execve, as an ordered list of steps
// (the container init's, init.ts, minus everything that builds the
// container). Runs in the forked child, so only synchronous calls. It says
// nothing when all goes well: the report pipe is close-on-exec, so the
// parent sees it close at execve; on a failure it sends one `error`.
import type { ExecPlan } from '../plan/exec-plan';
import { changeDirFd, execProgram, exitNow, prctlSet, PR_SET_NO_NEW_PRIVS } from '../../linux/proc';
import { changeRoot } from '../../linux/mount';
import { closeFd } from '../../linux/fd';
import { joinNamespaceFd } from '../../linux/namespaces';
import { setDumpable } from '../../linux/sched';
import { loadFilter } from '../../linux/seccomp';
import { cleanProcessForExec, enterWorkingDir, lookPath, withHome } from '../setup/program';
import { applyProcessAttributes, applyRlimits, switchUserKeepingCapabilities } from '../setup/process-setup';
import { setExecLabels } from '../../linux/lsm';
import { noteHostPid, sendListener } from '../setup/seccomp-listener';
import { attachExecTerminal } from './terminal';
import { reportError } from '../channel/sync';

/** Descriptors stage 1 opened before it entered any namespace (close-on-exec). */
export interface ContainerHandles {
  /** The init's mount namespace, or -1 when it is the runtime's. */
  mountFd: number;
  /** The init's root directory (O_PATH). */
  rootFd: number;
}

interface ChildState {
  handles: ContainerHandles;
  program: string;
  env: string[];
}

type Step = [name: string, run: (plan: ExecPlan, state: ChildState) => void];

const STEPS: Step[] = [
  // First: a non-dumpable process cannot be reached through /proc by the
  // container (CVE-2019-5736); execve of the program ends it.
  ['not dumpable', () => setDumpable(false)],
  // While the runtime's /proc is still the one mounted: the agent needs the host pid.
  ['seccomp agent pid', (plan) => noteHostPid(plan)],
  ['container root', (plan, st) => enterContainerRoot(plan, st.handles)],
  ['terminal', (plan) => attachExecTerminal(plan.terminal, plan.process)],
  ['personality, I/O priority, scheduler', (plan) => applyProcessAttributes(plan.attributes)],
  ['rlimits', (plan) => applyRlimits(plan.rlimits)],
  // Without no_new_privs loading needs CAP_SYS_ADMIN: before the drop (runc's order).
  ['seccomp without no_new_privs', (plan) => plan.seccomp && !plan.seccomp.loadLate && loadSeccomp(plan)],
  ['user and capabilities', (plan) => switchUserKeepingCapabilities(plan.process.user, plan.capabilities, plan.lastCap)],
  ['no new privileges', (plan) => plan.process.noNewPrivileges && prctlSet(PR_SET_NO_NEW_PRIVS, 1, 'PR_SET_NO_NEW_PRIVS')],
  ['cwd', (plan) => enterWorkingDir(plan.process.cwd, 'exec: cwd')],
  ['find program', (plan, st) => findProgram(plan, st)],
  ['LSM labels', (plan) => setExecLabels(plan.process.apparmorProfile, plan.process.selinuxLabel)],
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

function findProgram(plan: ExecPlan, st: ChildState): void {
  const proc = plan.process;
  if (!proc.args?.length) throw new Error('exec: process args must not be empty');
  st.env = withHome(proc.env ?? [], proc.user?.uid ?? 0);
  st.program = lookPath(proc.args[0], st.env);
}

function loadSeccomp(plan: ExecPlan): void {
  const seccomp = plan.seccomp!;
  const listener = loadFilter(seccomp.program, seccomp.flags);
  if (seccomp.notify) sendListener(plan, listener, plan.containerStatus);
}

/** The descriptors the clean-up before execve leaves open: the report pipe, and the agent's socket for a late filter. */
function fdsToKeep(plan: ExecPlan, report: number): number[] {
  const agent = plan.seccomp?.loadLate ? plan.seccomp.notify?.socketFd : undefined;
  return agent !== undefined && agent >= 0 ? [report, agent] : [report];
}

/** Never returns: ends in execve or _exit. */
export function runExecChild(plan: ExecPlan, handles: ContainerHandles, report: number): never {
  const state: ChildState = { handles, program: '', env: [] };
  try {
    for (const [, run] of STEPS) run(plan, state);
    cleanProcessForExec(plan.preserveFds, fdsToKeep(plan, report));
    if (plan.seccomp?.loadLate) loadSeccomp(plan);
    execProgram(state.program, plan.process.args ?? [], state.env);
  } catch (err) {
    reportError(report, err);
  }
  return exitNow(1);
}
