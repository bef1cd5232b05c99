// linux.seccomp, checked and compiled in the parent (crun's rule: the init
// only loads the finished program). Unknown names of actions, operators,
// architectures and flags are config errors naming the JSON pointer; a
// syscall this architecture does not have is skipped with a warning, as runc
// does, so one profile serves several kernels and architectures.
import type { LinuxSeccomp, LinuxSyscall, Spec } from '../../spec/types';
import { configError, SyscallError } from '../../errors';
import {
  FILTER_FLAG,
  INSTRUCTION_BYTES,
  kernelHasFilterFlags,
  MAX_INSTRUCTIONS,
  resolveArchitecture,
  resolveSyscall,
  SCMP_ACT_ALLOW,
  SCMP_ACT_KILL_PROCESS,
  SCMP_ACT_KILL_THREAD,
  SCMP_ACT_LOG,
  SCMP_ACT_NOTIFY,
  SCMP_ACT_TRAP,
  SCMP_CMP,
  scmpActErrno,
  scmpActTrace,
  SeccompFilter,
  type ArgComparison,
} from '../../linux/seccomp';

/**
 * What the listener hand-over needs of a plan (create's, or exec's, whose
 * initPid is the container's pid in the state while the top-level pid is
 * the exec'd process', as runc sends them).
 */
export interface SeccompOwner {
  id: string;
  bundle: string;
  spec: Pick<Spec, 'ociVersion' | 'annotations'>;
  /** The process plan's filter (the same object: the agent's socket is recorded in it); a key always present, so no other plan passes for an owner. */
  seccomp: SeccompPlan | undefined;
  initPid?: number;
}

export interface SeccompPlan {
  /** Classic BPF (struct sock_filter, 8 bytes each) as libseccomp exported it. */
  program: Buffer;
  /** SECCOMP_FILTER_FLAG_* for seccomp(2), NEW_LISTENER included when a rule notifies. */
  flags: number;
  /**
   * With no_new_privs the filter is loaded just before execve; without it,
   * loading needs CAP_SYS_ADMIN, so it happens before the capability drop.
   */
  loadLate: boolean;
  notify?: SeccompNotifyPlan;
}

export interface SeccompNotifyPlan {
  listenerPath: string;
  metadata?: string;
  /** The socket connected to listenerPath: set by the parent just before it forks, -1 until then. */
  socketFd: number;
}

const EPERM = 1;
/** The kernel clamps errno at 4095, but libseccomp keeps only 16 bits: 65536 would become 0, "success". */
const MAX_ERRNO_RET = 0xffff;
/** runc's threshold: libseccomp's binary tree pays off only for long profiles (and misbehaves with none). */
const OPTIMIZE_ABOVE_RULES = 32;
/**
 * The init itself calls these after the filter is loaded (the `ready`
 * report, the sendmsg of the listener): notifying them would wait for an
 * agent that has not got the listener yet.
 */
const NOT_NOTIFIABLE = ['write', 'sendmsg'];

const ACTIONS: Record<string, (errnoRet: number | undefined) => number> = {
  SCMP_ACT_KILL: () => SCMP_ACT_KILL_THREAD,
  SCMP_ACT_KILL_THREAD: () => SCMP_ACT_KILL_THREAD,
  SCMP_ACT_KILL_PROCESS: () => SCMP_ACT_KILL_PROCESS,
  SCMP_ACT_TRAP: () => SCMP_ACT_TRAP,
  SCMP_ACT_ERRNO: (e) => scmpActErrno(e ?? EPERM),
  SCMP_ACT_TRACE: (e) => scmpActTrace(e ?? EPERM),
  SCMP_ACT_ALLOW: () => SCMP_ACT_ALLOW,
  SCMP_ACT_LOG: () => SCMP_ACT_LOG,
  SCMP_ACT_NOTIFY: () => SCMP_ACT_NOTIFY,
};

const OPERATORS: Record<string, number> = {
  SCMP_CMP_NE: SCMP_CMP.NE,
  SCMP_CMP_LT: SCMP_CMP.LT,
  SCMP_CMP_LE: SCMP_CMP.LE,
  SCMP_CMP_EQ: SCMP_CMP.EQ,
  SCMP_CMP_GE: SCMP_CMP.GE,
  SCMP_CMP_GT: SCMP_CMP.GT,
  SCMP_CMP_MASKED_EQ: SCMP_CMP.MASKED_EQ,
};

const FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: FILTER_FLAG.WAIT_KILLABLE_RECV,
};

const SECCOMP = '/linux/seccomp';

function fail(pointer: string, detail: string): never {
  throw configError(pointer, detail);
}

/** One libseccomp rule: a syscall number, an action and the comparisons that must all hold. */
interface Rule {
  pointer: string;
  name: string;
  syscall: number;
  action: number;
  args: ArgComparison[];
}

/** Checks and compiles linux.seccomp; undefined when the config has none. */
export function planSeccomp(spec: Spec, warn: (msg: string) => void): SeccompPlan | undefined {
  const config = spec.linux?.seccomp;
  if (!config) return undefined;
  const defaultAction = resolveAction(config.defaultAction, config.defaultErrnoRet, `${SECCOMP}/defaultAction`, `${SECCOMP}/defaultErrnoRet`);
  if (config.defaultAction === 'SCMP_ACT_NOTIFY') fail(`${SECCOMP}/defaultAction`, 'SCMP_ACT_NOTIFY cannot be the default action');
  const architectures = (config.architectures ?? []).map((arch, i) => resolveArch(arch, `${SECCOMP}/architectures/${i}`));
  const rules = (config.syscalls ?? []).flatMap((sc, i) => rulesOf(sc, `${SECCOMP}/syscalls/${i}`, defaultAction, warn));
  const notifyAt = (config.syscalls ?? []).findIndex((sc) => sc.action === 'SCMP_ACT_NOTIFY');
  if (notifyAt >= 0 && !config.listenerPath) {
    fail(`${SECCOMP}/syscalls/${notifyAt}/action`, `SCMP_ACT_NOTIFY needs ${SECCOMP}/listenerPath`);
  }
  const flags = filterFlags(config, notifyAt >= 0, warn);
  const program = compile(defaultAction, architectures, rules);
  return {
    program,
    flags,
    loadLate: spec.process?.noNewPrivileges === true,
    ...(notifyAt >= 0 && { notify: { listenerPath: config.listenerPath as string, metadata: config.listenerMetadata, socketFd: -1 } }),
  };
}

function resolveAction(name: string, errnoRet: number | undefined, pointer: string, errnoPointer: string): number {
  const make = ACTIONS[name];
  if (!make) fail(pointer, `unknown action ${JSON.stringify(name)}`);
  if (errnoRet !== undefined && (!Number.isInteger(errnoRet) || errnoRet < 0 || errnoRet > MAX_ERRNO_RET)) {
    fail(errnoPointer, `must be an integer from 0 to ${MAX_ERRNO_RET}`);
  }
  return make(errnoRet);
}

/** "SCMP_ARCH_X86_64" is libseccomp's "x86_64". */
function resolveArch(name: string, pointer: string): { token: number; name: string } {
  const token = name.startsWith('SCMP_ARCH_') ? resolveArchitecture(name.slice('SCMP_ARCH_'.length).toLowerCase()) : null;
  if (token === null) fail(pointer, `unknown architecture ${JSON.stringify(name)} (or one this libseccomp does not know)`);
  return { token, name };
}

function rulesOf(sc: LinuxSyscall, pointer: string, defaultAction: number, warn: (msg: string) => void): Rule[] {
  const action = resolveAction(sc.action, sc.errnoRet, `${pointer}/action`, `${pointer}/errnoRet`);
  const args = (sc.args ?? []).map((a, j): ArgComparison => {
    const op = OPERATORS[a.op];
    if (op === undefined) fail(`${pointer}/args/${j}/op`, `unknown operator ${JSON.stringify(a.op)}`);
    for (const key of ['value', 'valueTwo'] as const) {
      const v = a[key];
      if (v !== undefined && (!Number.isInteger(v) || v < 0)) fail(`${pointer}/args/${j}/${key}`, 'must be a non-negative integer');
    }
    // MASKED_EQ: `value` is the mask, `valueTwo` what the masked argument must equal.
    return { index: a.index, op, datumA: BigInt(a.value), datumB: BigInt(a.valueTwo ?? 0) };
  });
  const rules: Rule[] = [];
  sc.names.forEach((name, k) => {
    if (sc.action === 'SCMP_ACT_NOTIFY' && NOT_NOTIFIABLE.includes(name)) {
      fail(`${pointer}/names/${k}`, `SCMP_ACT_NOTIFY cannot be used for ${name}: the runtime calls it after loading the filter`);
    }
    const syscall = resolveSyscall(name);
    if (syscall === null) {
      warn(`seccomp: ${pointer}/names/${k}: unknown syscall ${JSON.stringify(name)} on ${process.arch}, skipped`);
      return;
    }
    // libseccomp refuses a rule whose action is the default one; it changes nothing anyway.
    if (action === defaultAction) return;
    for (const group of argGroups(args)) rules.push({ pointer, name, syscall, action, args: group });
  });
  return rules;
}

/**
 * Comparisons on distinct arguments go in one rule (all must hold). libseccomp
 * takes one comparison per argument in a rule, so when an argument is named
 * twice each comparison becomes its own rule (any may hold), as runc does.
 */
function argGroups(args: ArgComparison[]): ArgComparison[][] {
  const indexes = new Set(args.map((a) => a.index));
  if (indexes.size === args.length) return [args];
  return args.map((a) => [a]);
}

function filterFlags(config: LinuxSeccomp, notify: boolean, warn: (msg: string) => void): number {
  let flags = 0;
  (config.flags ?? []).forEach((name, i) => {
    const bit = FLAGS[name];
    if (bit === undefined) fail(`${SECCOMP}/flags/${i}`, `unknown flag ${JSON.stringify(name)}`);
    flags |= bit;
  });
  if ((flags & FILTER_FLAG.WAIT_KILLABLE_RECV) !== 0 && !notify) {
    warn('seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no rule uses SCMP_ACT_NOTIFY');
    flags &= ~FILTER_FLAG.WAIT_KILLABLE_RECV;
  }
  if (notify) flags |= FILTER_FLAG.NEW_LISTENER;
  // The kernel refuses TSYNC with a listener unless failures come back as ESRCH.
  if ((flags & FILTER_FLAG.TSYNC) !== 0 && notify) flags |= FILTER_FLAG.TSYNC_ESRCH;
  return dropUnsupportedFlags(flags, warn);
}

/** Flags this kernel does not have are left out with a warning (they only tune logging, mitigations and waiting). */
function dropUnsupportedFlags(flags: number, warn: (msg: string) => void): number {
  if (kernelHasFilterFlags(flags)) return flags;
  const listener = flags & FILTER_FLAG.NEW_LISTENER;
  let kept = flags;
  for (const [name, bit] of [...Object.entries(FLAGS), ['SECCOMP_FILTER_FLAG_TSYNC_ESRCH', FILTER_FLAG.TSYNC_ESRCH] as const]) {
    if ((flags & bit) === 0 || kernelHasFilterFlags(bit | listener)) continue;
    warn(`seccomp: ${name} is not supported by this kernel, ignored`);
    kept &= ~bit;
    // TSYNC with a listener needs TSYNC_ESRCH; the init is single-threaded, so TSYNC alone changes nothing.
    if (bit === FILTER_FLAG.TSYNC_ESRCH) kept &= ~FILTER_FLAG.TSYNC;
  }
  return kept;
}

function compile(defaultAction: number, architectures: Array<{ token: number; name: string }>, rules: Rule[]): Buffer {
  const filter = new SeccompFilter(defaultAction);
  try {
    for (const arch of architectures) filter.addArchitecture(arch.token, arch.name);
    if (rules.length > OPTIMIZE_ABOVE_RULES) filter.optimize();
    for (const rule of rules) {
      try {
        filter.addRule(rule.syscall, rule.action, rule.args, rule.name);
      } catch (err) {
        if (err instanceof SyscallError) fail(rule.pointer, `cannot add the rule for ${rule.name}: ${err.message}`);
        throw err;
      }
    }
    const program = filter.exportProgram();
    const count = program.length / INSTRUCTION_BYTES;
    if (count > MAX_INSTRUCTIONS) fail(SECCOMP, `the profile compiles to ${count} BPF instructions, more than the kernel's ${MAX_INSTRUCTIONS}`);
    return program;
  } finally {
    filter.release();
  }
}

/** What `tsrun features` reports as supported. */
export const SECCOMP_FEATURES = {
  actions: (): string[] => Object.keys(ACTIONS),
  operators: (): string[] => Object.keys(OPERATORS),
  flags: (): string[] => Object.keys(FLAGS),
};
