// The process itself, as the parent decides it, for both pipelines: the
// container's init (config.json's process) and a `tsrun exec`'d process
// (the flags or --process file). Both are planned here, by one function, and
// applied by the same final steps (setup/steps.ts).
import type { Process, Spec } from '../../spec/types';
import { configError, UserError } from '../../errors';
import type { CapabilitySets } from '../../linux/capabilities';
import { checkLsmSupport } from '../../linux/lsm';
import { lastCapability, resolveCapabilities, resolveProcessAttributes, resolveRlimits, type ProcessAttributes, type ResolvedRlimit } from './security';
import { planSeccomp, type SeccompPlan } from './seccomp';
import { planMemoryPolicy, type MemoryPolicyPlan } from './memory-policy';
import { hostMemoryNodes } from '../../linux/numa';

/** Whose process: errors name its fields after where the user wrote them. */
export type ProcessOrigin = 'config' | 'exec';

export interface ProcessPlan {
  origin: ProcessOrigin;
  /** args, env, cwd, user, terminal, LSM labels, noNewPrivileges as given. */
  config: Process;
  capabilities?: CapabilitySets;
  lastCap: number;
  rlimits: ResolvedRlimit[];
  /** personality, I/O priority, scheduler, oom_score_adj as numbers. */
  attributes: ProcessAttributes;
  /** linux.memoryPolicy for set_mempolicy(2): the container's, so an exec'd process has it too (runc 1.3). */
  memoryPolicy?: MemoryPolicyPlan;
  /** linux.seccomp compiled to BPF; absent without one. */
  seccomp?: SeccompPlan;
  /** How many descriptors after stdio the process inherits (--preserve-fds). */
  preserveFds: number;
}

export interface ProcessPlanOptions {
  origin: ProcessOrigin;
  preserveFds: number;
  /** Where warnings about the config go (capabilities newer than the kernel). */
  warn: (msg: string) => void;
}

/** `spec` is the container's config with `process` the one to plan (exec replaces it). */
export function planProcess(spec: Spec, options: ProcessPlanOptions): ProcessPlan {
  const config = spec.process ?? ({ cwd: '/', user: { uid: 0, gid: 0 } } as Process);
  checkLsmSupport(config.apparmorProfile, config.selinuxLabel);
  const lastCap = lastCapability();
  const seccomp = planSeccomp(spec, options.warn);
  const policy = spec.linux?.memoryPolicy;
  const memoryPolicy = policy && planMemoryPolicy(policy, hostMemoryNodes());
  return {
    origin: options.origin,
    config,
    capabilities: resolveCapabilities(config.capabilities, lastCap, options.warn),
    lastCap,
    rlimits: resolveRlimits(config.rlimits),
    attributes: resolveProcessAttributes(spec),
    ...(memoryPolicy && { memoryPolicy }),
    ...(seccomp && { seccomp }),
    preserveFds: options.preserveFds,
  };
}

/**
 * An error about one of the process' fields, named where the user wrote it:
 * a config error at /process/<field> for the container's process, the
 * process.<field> of `tsrun exec` (its --cwd, its args, its --process file).
 */
export function processFieldError(origin: ProcessOrigin, field: string, detail: string): UserError {
  return origin === 'config' ? configError(`/process/${field.replaceAll('.', '/')}`, detail) : new UserError(`process.${field}: ${detail}`);
}
