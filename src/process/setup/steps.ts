// The final steps of a process, from its attributes to execve: one ordered
// list, run by the container init after the root filesystem is ready
// (create/init.ts) and by `tsrun exec`'s child once it is in the container
// (exec/child.ts). Each pipeline puts its own steps before these; every step
// has a name, and a failure is reported with it.
import { execProgram, prctlSet, PR_SET_NO_NEW_PRIVS } from '../../linux/proc';
import { setExecLabels } from '../../linux/lsm';
import { setMemoryPolicy } from '../../linux/numa';
import { StepFailure } from '../channel/reports';
import { processFieldError, type ProcessPlan } from '../plan/process-plan';
import type { MemoryPolicyPlan } from '../plan/memory-policy';
import { cleanProcessForExec, enterWorkingDir, enterWorkingDirAsRoot, lookPath, withHome } from './program';
import { applyProcessAttributes, applyRlimits, switchUserKeepingCapabilities } from './process-setup';
import { loadSeccompEarly, loadSeccompLate, type SeccompAgentView } from './seccomp-load';

export type Step<P, S> = readonly [name: string, run: (plan: P, state: S) => void];

/** Runs `steps` in order; a failure carries the name of the step it happened in. */
export function runSteps<P, S>(steps: ReadonlyArray<Step<P, S>>, plan: P, state: S): void {
  for (const [name, run] of steps) {
    try {
      run(plan, state);
    } catch (err) {
      throw new StepFailure(name, err);
    }
  }
}

/** What the final steps work on: the process plan, and what they find on the way. */
export interface ProcessSetup {
  process: ProcessPlan;
  /** Whose process the seccomp agent is told about, and the container status it hears. */
  agent: SeccompAgentView;
  program: string;
  env: string[];
  /** The cwd step could not enter the cwd as root: the user enters it after the switch. */
  cwdAsUser: boolean;
}

export const PROCESS_STEPS: ReadonlyArray<Step<ProcessSetup, void>> = [
  ['personality, I/O priority, scheduler', (s) => applyProcessAttributes(s.process.attributes, (field, detail) => processFieldError(s.process.origin, field, detail))],
  // After the attributes, before the user switch (runc's order); the policy stays across execve.
  ['memory policy', (s) => applyMemoryPolicy(s.process.memoryPolicy)],
  ['rlimits', (s) => applyRlimits(s.process.rlimits)],
  // Before any seccomp filter: the check calls getcwd, which a profile may deny the program.
  ['cwd', (s) => (s.cwdAsUser = !enterWorkingDirAsRoot(cwdOf(s), cwdError(s)))],
  // Without no_new_privs loading needs CAP_SYS_ADMIN: before the drop (runc's order).
  ['seccomp without no_new_privs', (s) => loadSeccompEarly(s)],
  ['user and capabilities', (s) => switchUserKeepingCapabilities(s.process.config.user, s.process.capabilities, s.process.lastCap)],
  ['no new privileges', (s) => s.process.config.noNewPrivileges && prctlSet(PR_SET_NO_NEW_PRIVS, 1, 'PR_SET_NO_NEW_PRIVS')],
  ['cwd as the user', (s) => s.cwdAsUser && enterWorkingDir(cwdOf(s), cwdError(s))],
  ['find program', (s) => findProgram(s)],
  ['LSM labels', (s) => setExecLabels(s.process.config.apparmorProfile, s.process.config.selinuxLabel)],
];

/** The final steps as steps of a pipeline whose state holds the ProcessSetup. */
export function processSteps<P, S extends { setup: ProcessSetup }>(): Array<Step<P, S>> {
  return PROCESS_STEPS.map(([name, run]): Step<P, S> => [name, (_plan, state) => run(state.setup)]);
}

export function newProcessSetup(process: ProcessPlan, agent: SeccompAgentView): ProcessSetup {
  return { process, agent, program: '', env: [], cwdAsUser: false };
}

function cwdOf(s: ProcessSetup): string {
  return s.process.config.cwd ?? '/';
}

function cwdError(s: ProcessSetup): (detail: string) => Error {
  return (detail) => processFieldError(s.process.origin, 'cwd', detail);
}

function applyMemoryPolicy(policy: MemoryPolicyPlan | undefined): void {
  if (policy) setMemoryPolicy(policy.modeWithFlags, policy.nodes, policy.describe);
}

function findProgram(s: ProcessSetup): void {
  const config = s.process.config;
  if (!config.args?.length) throw processFieldError(s.process.origin, 'args', 'must not be empty');
  s.env = withHome(config.env ?? [], config.user?.uid ?? 0);
  s.program = lookPath(config.args[0], s.env);
}

/**
 * The last moves, after the pipeline's own wait (the init's for `start`):
 * stdio and signals as the program expects them, every other descriptor
 * but the preserved ones close-on-exec, the seccomp filter that must come
 * last, then execve. Returns only by throwing.
 */
export function execProcess(s: ProcessSetup): never {
  cleanProcessForExec(s.process.preserveFds);
  loadSeccompLate(s);
  return execProgram(s.program, s.process.config.args ?? [], s.env);
}
