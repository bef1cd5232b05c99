// Loading the compiled filter in the process, at runc's points: with
// no_new_privs as the very last thing before execve, so that the fewest of
// the runtime's own syscalls run under it; without no_new_privs loading needs
// CAP_SYS_ADMIN, so before the capability drop.
import { loadFilter } from '../../linux/seccomp';
import { sendListener, type SeccompOwner } from './seccomp-listener';
import type { ProcessPlan } from '../plan/process-plan';

type AgentStatus = 'creating' | 'created' | 'running';

/**
 * What a seccomp agent is told when the filter is loaded: whose container,
 * and its status then (the init loads before `start`: creating, or created
 * at the last moment; an exec'd process: the container's status).
 */
export interface SeccompAgentView {
  owner: SeccompOwner;
  early: AgentStatus;
  late: AgentStatus;
}

interface Loading {
  process: ProcessPlan;
  agent: SeccompAgentView;
}

/** The step before 'user and capabilities': the filter when there is no no_new_privs. */
export function loadSeccompEarly(s: Loading): void {
  if (s.process.seccomp && !s.process.seccomp.loadLate) load(s, s.agent.early);
}

/** After the descriptor clean-up, before execve: the filter when no_new_privs is set. */
export function loadSeccompLate(s: Loading): void {
  if (s.process.seccomp?.loadLate) load(s, s.agent.late);
}

function load(s: Loading, status: AgentStatus): void {
  const seccomp = s.process.seccomp!;
  const listener = loadFilter(seccomp.program, seccomp.flags);
  if (seccomp.notify) sendListener(s.agent.owner, listener, status);
}
