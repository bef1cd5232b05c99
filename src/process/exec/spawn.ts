// The parent's side of `tsrun exec`: fork stage 1, put it in the container's
// cgroup, let it go, and learn the exec'd process' pid. Returns once that
// process has called execve (the report pipe closed without an error) or
// throws the error it sent.
import { closeFd } from '../../linux/fd';
import { waitPid, type WaitResult } from '../../linux/proc';
import { UserError } from '../../errors';
import type { ExecPlan } from '../plan/exec-plan';
import { runExecStage1 } from './stage1';
import { readChildMessages } from '../channel/sync';
import { describeStage1Exit, launchStage1 } from '../channel/launch';

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
  const { pid: stage1, channel } = launchStage1({
    stage1: (ch) => runExecStage1(plan, ch),
    placeStage1: options.placeStage1,
    oomScoreAdj: plan.process.attributes.oomScoreAdj,
  });
  closeFd(channel.toChild.write);
  let pid = 0;
  let outcome: ReturnType<typeof readChildMessages>;
  try {
    // To the end of the pipe: every writer closes it, stage 1 when it exits,
    // the exec'd process at execve (close-on-exec) or when it exits after an
    // error. The pid and an error may come in either order.
    outcome = readChildMessages(
      channel.toParent.read,
      'exec',
      (message) => {
        if (message.type === 'exec-forked') pid = message.pid;
        return false;
      },
      { drain: true },
    );
  } finally {
    closeFd(channel.toParent.read);
  }
  // After this wait, the exec'd process has been handed to a subreaper (us, in the foreground).
  const stage1Status = waitPid(stage1) as WaitResult;
  if (outcome.error === undefined && pid > 0) return pid;
  // The process ends itself after its error; in the foreground it is ours to reap.
  if (pid > 0 && options.reap) waitPid(pid);
  throw outcome.error ?? new UserError(`exec: the process was not started (${describeStage1Exit(stage1Status)})`);
}
