// Loading the compiled filter in the init, at runc's points: with
// no_new_privs as the very last thing before execve, so that the fewest of
// the runtime's own syscalls run under it; without no_new_privs loading needs
// CAP_SYS_ADMIN, so before the capability drop.
import type { ContainerPlan } from '../plan/container-plan';
import { loadFilter } from '../../linux/seccomp';
import { sendListener } from './seccomp-listener';

/** Init step before 'user and capabilities': the filter when there is no no_new_privs. */
export function loadSeccompBeforeCapabilityDrop(plan: ContainerPlan): void {
  if (plan.seccomp && !plan.seccomp.loadLate) load(plan, 'creating');
}

/** After the exec fifo wait and the fd clean-up: the filter when no_new_privs is set. */
export function loadSeccompBeforeExec(plan: ContainerPlan): void {
  if (plan.seccomp?.loadLate) load(plan, 'created');
}

/** The descriptors the fd clean-up before execve must leave open for loadSeccompBeforeExec. */
export function seccompFdsToKeep(plan: ContainerPlan): number[] {
  const fd = plan.seccomp?.loadLate ? plan.seccomp.notify?.socketFd : undefined;
  return fd !== undefined && fd >= 0 ? [fd] : [];
}

function load(plan: ContainerPlan, status: 'creating' | 'created'): void {
  const seccomp = plan.seccomp!;
  const listener = loadFilter(seccomp.program, seccomp.flags);
  if (seccomp.notify) sendListener(plan, listener, status);
}
