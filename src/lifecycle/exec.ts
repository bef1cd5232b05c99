// `exec`: run one more process in a live container (runc's setns path). The
// process joins the init's namespaces, root and cgroup. In the foreground
// tsrun waits for it, forwarding signals, and returns its exit code (128+N
// when signal N killed it); with --detach it returns once the process has
// exec'd, leaving it to the caller (a subreaper such as containerd's shim or
// conmon).
import { resolve } from 'node:path';
import type { Process } from '../spec/types';
import { loadConfig } from '../spec/load';
import { UserError } from '../errors';
import { isOpen } from '../linux/fd';
import { prctlSet, PR_SET_CHILD_SUBREAPER, waitPid, waitPidAsync } from '../linux/proc';
import { sendSignal } from '../linux/signals';
import { openCgroup } from '../cgroups/manager';
import { processFromFile, processFromFlags, type ExecOverrides } from '../process/exec-process';
import { makeExecPlan, type ExecPlan } from '../process/exec-plan';
import { spawnExecProcess } from '../process/exec-spawn';
import { prepareExecTerminal, releaseExecTerminal } from '../process/exec-terminal';
import { withSeccompListener } from '../process/seccomp-listener';
import { logWarning } from '../log/logger';
import { Container } from './container';
import { StateStore, writeFileAtomic } from './store';
import { SignalForwarder } from './signal-forwarder';

export interface ExecOptions extends ExecOverrides {
  root: string;
  id: string;
  /** A runtime-spec process JSON file; the overrides are then not used. */
  processFile?: string;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  ignorePaused: boolean;
}

/** Returns the exit code for the caller to exit with. */
export async function execInContainer(opts: ExecOptions): Promise<number> {
  if (opts.detach) {
    const pid = startProcess(opts, false);
    writePidFile(opts, pid, false);
    return 0;
  }
  // Stage 1 forks the process and exits; as subreaper tsrun becomes its
  // parent then, and can wait for it.
  prctlSet(PR_SET_CHILD_SUBREAPER, 1, 'PR_SET_CHILD_SUBREAPER');
  const forwarder = new SignalForwarder();
  try {
    const pid = startProcess(opts, true);
    writePidFile(opts, pid, true);
    forwarder.target(pid);
    const result = await waitPidAsync(pid);
    return result.signal !== null ? 128 + result.signal : (result.exitCode ?? 0);
  } finally {
    forwarder.stop();
  }
}

/** Forks the process into the container; returns its pid once it has exec'd. */
function startProcess(opts: ExecOptions, reap: boolean): number {
  const container = Container.load(new StateStore(opts.root), opts.id);
  const status = container.status();
  if (status === 'stopped') throw new UserError('cannot exec in a stopped container');
  if (status === 'paused' && !opts.ignorePaused) throw new UserError('cannot exec in a paused container (use --ignore-paused to override)');
  checkPreservedFds(opts.preserveFds);
  const record = container.record;
  const spec = loadConfig(record.bundle);
  const proc = execProcess(opts, spec.process, () => processFromFile(resolve(opts.processFile as string), spec, record.bundle));
  const target = { id: record.id, bundle: record.bundle, initPid: record.pid, initStartTime: record.initStartTime, status };
  const plan: ExecPlan = makeExecPlan(spec, proc, target, { preserveFds: opts.preserveFds, warn: logWarning });
  const cgroup = record.cgroup ? openCgroup(record.cgroup) : undefined;
  plan.terminal = prepareExecTerminal(proc, opts.consoleSocket, opts.detach);
  try {
    return withSeccompListener(plan, () => spawnExecProcess(plan, { placeStage1: (pid) => cgroup?.addProcess(pid), reap }));
  } finally {
    releaseExecTerminal(plan.terminal);
  }
}

function execProcess(opts: ExecOptions, configProcess: Process | undefined, fromFile: () => Process): Process {
  if (opts.processFile === undefined) return processFromFlags(configProcess, opts);
  const proc = fromFile();
  // runc reads the terminal from the file; --tty asks for one as well.
  return opts.tty ? { ...proc, terminal: true } : proc;
}

/**
 * The descriptors handed on must exist: a missing one would let a runtime
 * pipe opened later take its number and leak into the container.
 */
function checkPreservedFds(count: number): void {
  for (let fd = 3; fd < 3 + count; fd++) {
    if (!isOpen(fd)) throw new UserError(`--preserve-fds ${count}: file descriptor ${fd} is not open`);
  }
}

/** Digits, no newline, atomically. A process nobody can find must not run on: it is killed if the write fails. */
function writePidFile(opts: ExecOptions, pid: number, ours: boolean): void {
  if (!opts.pidFile) return;
  try {
    writeFileAtomic(resolve(opts.pidFile), String(pid));
  } catch (err) {
    sendSignal(pid, 9);
    if (ours) waitPid(pid);
    throw err;
  }
}
