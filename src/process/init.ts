// The container init: everything between fork and execve, as an explicit
// ordered list of steps. Runs in the forked child, so only synchronous calls.
import type { ContainerPlan } from './plan';
import { bringLoopbackUp } from '../linux/net';
import { changeDir, execProgram, exitNow, newSession, prctlSet, PR_SET_NO_NEW_PRIVS, setDomainname, setHostname, setIds, setUmask } from '../linux/proc';
import { dropBoundingSet, keepCapsAcrossSetuid, setCapabilities } from '../linux/capabilities';
import { setResourceLimit } from '../linux/rlimits';
import { writeFd } from '../linux/fd';
import { buildRootfs, finishRootfs } from './rootfs';
import { holdExecFifo, waitForStart } from './exec-fifo';
import { cleanProcessForExec, lookPath, withHome } from './exec';
import { sendMessage } from './sync';
import { logWarning } from '../log/logger';
import { setDumpable, setIoPriority, setPersonality, setSchedulerAttributes } from '../linux/sched';
import { hardenRootfs } from './hardening';
import { setExecLabels } from './lsm';
import { loadSeccompBeforeCapabilityDrop, loadSeccompBeforeExec, seccompFdsToKeep } from './seccomp-load';
import { noteHostPid } from './seccomp-listener';

interface InitState {
  fifoFd: number;
  program: string;
  env: string[];
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
  ['seccomp agent pid', (plan) => noteHostPid(plan)],
  ['loopback', (plan) => plan.create.includes('network') && bringLoopbackUp()],
  ['root filesystem', (plan) => buildRootfs(plan)],
  ['finish root filesystem', (plan) => finishRootfs(plan.spec)],
  ['hostname', (plan) => plan.spec.hostname !== undefined && setHostname(plan.spec.hostname)],
  ['domainname', (plan) => plan.spec.domainname !== undefined && setDomainname(plan.spec.domainname)],
  ['sysctl, read-only and masked paths', (plan) => hardenRootfs(plan.spec)],
  ['personality, I/O priority, scheduler', (plan) => applyProcessAttributes(plan.attributes)],
  ['rlimits', (plan) => plan.rlimits.forEach((r) => setResourceLimit(r.resource, r.name, r.soft, r.hard))],
  // Without no_new_privs loading needs CAP_SYS_ADMIN: before the drop (runc's order).
  ['seccomp without no_new_privs', (plan) => loadSeccompBeforeCapabilityDrop(plan)],
  ['user and capabilities', (plan) => switchUserKeepingCapabilities(plan)],
  ['no new privileges', (plan) => plan.spec.process?.noNewPrivileges && prctlSet(PR_SET_NO_NEW_PRIVS, 1, 'PR_SET_NO_NEW_PRIVS')],
  ['cwd', (plan) => changeDir(plan.spec.process?.cwd ?? '/')],
  ['find program', (plan, st) => findProgram(plan, st)],
  ['LSM labels', (plan) => setExecLabels(plan.spec.process?.apparmorProfile, plan.spec.process?.selinuxLabel)],
];

function applyProcessAttributes(attributes: ContainerPlan['attributes']): void {
  if (attributes.personality !== undefined) setPersonality(attributes.personality);
  if (attributes.ioPriority) setIoPriority(attributes.ioPriority.ioClass, attributes.ioPriority.level);
  if (attributes.scheduler) setSchedulerAttributes(attributes.scheduler);
}

/**
 * runc's order: shrink the bounding set while still root, keep the
 * permitted set across setuid, then set effective/permitted/inheritable and
 * ambient for the new user.
 */
function switchUserKeepingCapabilities(plan: ContainerPlan): void {
  const user = plan.spec.process?.user ?? { uid: 0, gid: 0 };
  const caps = plan.capabilities;
  if (caps) {
    dropBoundingSet(caps.bounding, plan.lastCap);
    keepCapsAcrossSetuid(true);
  }
  setIds(user.uid, user.gid, user.additionalGids ?? []);
  setUmask(user.umask ?? 0o022);
  if (caps) {
    keepCapsAcrossSetuid(false);
    setCapabilities(caps, logWarning);
  }
}

function findProgram(plan: ContainerPlan, st: InitState): void {
  const proc = plan.spec.process;
  if (!proc?.args?.length) throw new Error('config.json: /process/args: must not be empty');
  st.env = withHome(proc.env ?? [], proc.user?.uid ?? 0);
  st.program = lookPath(proc.args[0], st.env);
}

/** Never returns: ends in execve or _exit. */
export function runInit(plan: ContainerPlan, report: number): never {
  const state: InitState = { fifoFd: -1, program: '', env: [] };
  try {
    for (const [, run] of SETUP_STEPS) run(plan, state);
    sendMessage(report, { type: 'ready' });
  } catch (err) {
    try {
      sendMessage(report, { type: 'error', message: (err as Error).message });
    } catch {
      // parent gone
    }
    return exitNow(1);
  }
  try {
    waitForStart(state.fifoFd);
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
