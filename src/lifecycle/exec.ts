// `exec`: run one more process in a live container (runc's setns path). The
// process joins the init's namespaces, root and cgroup. In the foreground
// tsrun waits for it, forwarding signals, and returns its exit code (128+N
// when signal N killed it); with --detach it returns once the process has
// exec'd, leaving it to the caller (a subreaper such as containerd's shim or
// conmon).
import { resolve } from 'node:path';
import { isatty } from 'node:tty';
import type { ConsoleSize, Process } from '../spec/types';
import type { CgroupState } from '../cgroups/types';
import { loadConfig } from '../spec/load';
import { UserError } from '../errors';
import { isOpen } from '../linux/fd';
import { prctlSet, PR_SET_CHILD_SUBREAPER, waitPid, waitPidAsync } from '../linux/proc';
import { sendSignal } from '../linux/signals';
import { getWindowSize } from '../linux/pty';
import { openContainerCgroup } from '../cgroups/manager';
import { cpusetCpusOf } from '../cgroups/cpuset';
import { setCpuAffinity } from '../linux/sched';
import { parseCpuList } from '../linux/kernel-list';
import { execCgroupDirs, hasSubCgroups, type SubCgroupPaths } from '../cgroups/sub-cgroup';
import { processFromFile, processFromFlags, type ExecOverrides } from '../process/exec/process-args';
import { execSeccompOwner, makeExecPlan, type ExecPlan } from '../process/plan/exec-plan';
import { spawnExecProcess } from '../process/exec/spawn';
import { prepareExecTerminal, releaseExecTerminal } from '../process/exec/terminal';
import { withSeccompListener } from '../process/setup/seccomp-listener';
import { logDebug, logWarning } from '../log/logger';
import { joinIntelRdt, recordedTree } from '../resctrl/group';
import { Container } from './container';
import { StateStore, writeFileAtomic } from './store';
import { SignalForwarder } from './signal-forwarder';
import { ConsoleChannel, TerminalRelay } from './console-relay';
import { warmUpCgroupMove } from '../cgroups/move-warmup';

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
  /** exec --cgroup: sub-cgroups of the container's cgroup to join instead of its top. */
  subCgroups?: SubCgroupPaths;
}

/** Returns the exit code for the caller to exit with. */
export async function execInContainer(opts: ExecOptions): Promise<number> {
  // First: planning overlaps the grace period the move into the cgroup waits for.
  warmUpCgroupMove();
  const plan = planExec(opts);
  if (opts.detach) {
    const pid = startProcess(plan, opts, false);
    writePidFile(opts, pid, false);
    return 0;
  }
  // Stage 1 forks the process and exits; as subreaper tsrun becomes its
  // parent then, and can wait for it.
  prctlSet(PR_SET_CHILD_SUBREAPER, 1, 'PR_SET_CHILD_SUBREAPER');
  const forwarder = new SignalForwarder();
  // With a terminal and no console socket, the process sends its pty master here and tsrun relays it.
  const config = plan.process.config;
  const channel = config.terminal ? new ConsoleChannel() : undefined;
  if (channel) config.consoleSize = ownTerminalSize() ?? config.consoleSize;
  let relay: TerminalRelay | undefined;
  try {
    const pid = startProcess(plan, opts, true, channel?.initEnd);
    const master = channel?.takeMaster() ?? null;
    if (master !== null) {
      // Resizing the pty signals the process through its terminal, as runc does.
      forwarder.ignore('SIGWINCH');
      relay = new TerminalRelay(master);
    }
    writePidFile(opts, pid, true);
    forwarder.target(pid);
    const result = await waitPidAsync(pid);
    // Reaped: its pid may be reused, so nothing more is sent to it.
    forwarder.stop();
    await relay?.finish();
    return result.signal !== null ? 128 + result.signal : (result.exitCode ?? 0);
  } finally {
    forwarder.stop();
    channel?.close();
    relay?.stop();
  }
}

/** Everything decided before forking: the container is there, the process and plan are made. */
function planExec(opts: ExecOptions): ExecPlan {
  const container = Container.load(new StateStore(opts.root), opts.id);
  const status = container.status();
  if (status === 'stopped') throw new UserError('cannot exec in a stopped container');
  if (status === 'creating') throw new UserError('cannot exec in a container that is still being created');
  if (status === 'paused' && !opts.ignorePaused) throw new UserError('cannot exec in a paused container (use --ignore-paused to override)');
  checkPreservedFds(opts.preserveFds);
  const record = container.record;
  checkSubCgroups(record.cgroup, opts.subCgroups);
  const spec = loadConfig(record.bundle);
  const proc = execProcess(opts, spec.process, () => processFromFile(resolve(opts.processFile as string), spec, record.bundle));
  const target = { id: record.id, bundle: record.bundle, initPid: record.pid, initStartTime: record.initStartTime, status, cgroup: record.cgroup, intelRdt: record.intelRdt };
  return makeExecPlan(spec, proc, target, { preserveFds: opts.preserveFds, warn: logWarning });
}

/** Forks the process into the container; returns its pid once it has exec'd. */
function startProcess(plan: ExecPlan, opts: ExecOptions, reap: boolean, relayFd?: number): number {
  const cgroup = plan.cgroup && openContainerCgroup(plan.cgroup);
  const rdt = plan.intelRdt && { state: plan.intelRdt, tree: recordedTree(plan.intelRdt) };
  plan.terminal = prepareExecTerminal(plan.process.config, opts.consoleSocket, opts.detach, relayFd);
  try {
    const placeStage1 = (pid: number): void => {
      const affinity = plan.cpuAffinity;
      if (affinity?.initial) {
        setCpuAffinity(pid, affinity.initial, `process.execCPUAffinity.initial "${affinity.initial.join(',')}"`);
        // Only the log can show it: a v1 cpuset move resets the affinity at once.
        logDebug(`exec: CPU affinity ${affinity.initial.join(',')} before joining the container's cgroup`);
      }
      cgroup?.placeExec(pid, plan.initPid, opts.subCgroups);
      if (rdt) joinIntelRdt(rdt.state, pid, rdt.tree);
      if (affinity) applyFinalCpuAffinity(pid, affinity.final);
    };
    return withSeccompListener(execSeccompOwner(plan), () => spawnExecProcess(plan, { placeStage1, reap }));
  } finally {
    releaseExecTerminal(plan.terminal);
  }
}

/**
 * After the cgroup move: the configured final CPUs, or else the cgroup's
 * own (a v1 cpuset move resets affinity, a v2 cgroup without cpuset does
 * not, so the initial CPUs would stick).
 */
function applyFinalCpuAffinity(pid: number, final: number[] | undefined): void {
  if (final) return setCpuAffinity(pid, final, `process.execCPUAffinity.final "${final.join(',')}"`);
  const cpus = cpusetCpusOf(pid);
  setCpuAffinity(pid, parseCpuList(cpus), `the container's CPUs "${cpus}"`);
}

function execProcess(opts: ExecOptions, configProcess: Process | undefined, fromFile: () => Process): Process {
  if (opts.processFile === undefined) return processFromFlags(configProcess, opts);
  const proc = fromFile();
  // runc reads the terminal from the file; --tty asks for one as well.
  return opts.tty ? { ...proc, terminal: true } : proc;
}

/**
 * tsrun's terminal size (the first of stdin, stdout, stderr that is one),
 * so that a foreground exec's pty has it from the start, as `run`'s has.
 */
function ownTerminalSize(): ConsoleSize | undefined {
  const fd = [0, 1, 2].find((n) => isatty(n));
  if (fd === undefined) return undefined;
  try {
    const size = getWindowSize(fd);
    return size.rows > 0 && size.columns > 0 ? { height: size.rows, width: size.columns } : undefined;
  } catch {
    return undefined;
  }
}

/** Before anything is forked: the sub-cgroups asked for are inside the container's cgroup, and exist. */
function checkSubCgroups(cgroup: CgroupState | undefined, sub: SubCgroupPaths | undefined): void {
  if (!hasSubCgroups(sub)) return;
  if (!cgroup) throw new UserError('--cgroup: the container has no cgroup of its own to take a sub-cgroup of');
  execCgroupDirs(cgroup, sub);
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
