// The parent's side of `tsrun exec`: fork stage 1, put it in the container's
// cgroup, let it go, and learn the exec'd process' pid. Returns once that
// process has called execve (the report pipe closed without an error) or
// throws the error it sent.
import { forkChild } from '../../linux/fork';
import { closeFd } from '../../linux/fd';
import { waitPid, type WaitResult } from '../../linux/proc';
import { sendSignal } from '../../linux/signals';
import { UserError } from '../../errors';
import type { ExecPlan } from '../plan/exec-plan';
import { runExecStage1 } from './stage1';
import { writeOomScoreAdj } from '../create/spawn';
import { MessageReader, openSyncChannel, sendMessage, type ChildMessage } from '../channel/sync';

export interface ExecSpawnOptions {
  /** Puts stage 1 in the container's cgroup before it does anything; what it forks is born there. */
  placeStage1(pid: number): void;
  /**
   * The runtime is a subreaper (foreground exec): once stage 1 is reaped,
   * the exec'd process is the runtime's child, and one that failed must be reaped too.
   */
  reap: boolean;
}

/** Returns the exec'd process' pid (in the runtime's pid namespace) once it has exec'd. */
export function spawnExecProcess(plan: ExecPlan, options: ExecSpawnOptions): number {
  const channel = openSyncChannel();
  const stage1 = forkChild();
  if (stage1 === 0) runExecStage1(plan, channel);
  closeFd(channel.toParent.write);
  closeFd(channel.toChild.read);
  try {
    options.placeStage1(stage1);
    // Written while stage 1 is still dumpable and ours to write to; inherited by its child.
    if (plan.attributes.oomScoreAdj !== undefined) writeOomScoreAdj(stage1, plan.attributes.oomScoreAdj);
    sendMessage(channel.toChild.write, { type: 'proceed' });
  } catch (err) {
    sendSignal(stage1, 9);
    waitPid(stage1);
    closeFd(channel.toParent.read);
    throw err;
  } finally {
    closeFd(channel.toChild.write);
  }
  let outcome: { pid: number; error?: string };
  try {
    outcome = readOutcome(channel.toParent.read);
  } finally {
    closeFd(channel.toParent.read);
  }
  // After this wait, the exec'd process has been handed to a subreaper (us, in the foreground).
  const stage1Status = waitPid(stage1) as WaitResult;
  if (outcome.error === undefined && outcome.pid > 0) return outcome.pid;
  // The process ends itself after its error; in the foreground it is ours to reap.
  if (outcome.pid > 0 && options.reap) waitPid(outcome.pid);
  throw new UserError(outcome.error ?? `exec: the process was not started (${describeExit(stage1Status)})`);
}

/**
 * Reads until every writer has closed the pipe: stage 1 when it exits, the
 * exec'd process at execve (close-on-exec) or when it exits after an error.
 * The pid and an error may come in either order.
 */
function readOutcome(fd: number): { pid: number; error?: string } {
  const reader = new MessageReader<ChildMessage>(fd);
  let pid = 0;
  let error: string | undefined;
  for (let message = reader.next(); message !== null; message = reader.next()) {
    if (message.type === 'exec-forked') pid = message.pid;
    else if (message.type === 'error' && error === undefined) error = message.message;
  }
  return error === undefined ? { pid } : { pid, error };
}

function describeExit(status: WaitResult): string {
  return status.signal !== null ? `stage 1 killed by signal ${status.signal}` : `stage 1 exit status ${status.exitCode}`;
}
