// The parent's first moves for both pipelines (create's init, exec's
// process): open the channel, fork stage 1, put it in the container's
// cgroup and set its oom_score_adj while it waits, then let it proceed.
import { writeFileSync } from 'node:fs';
import { forkChild } from '../../linux/fork';
import { closeFd } from '../../linux/fd';
import { waitPid, type WaitResult } from '../../linux/proc';
import { sendSignal } from '../../linux/signals';
import { configError } from '../../errors';
import { openSyncChannel, sendMessage, type SyncChannel } from './sync';

export interface Stage1Launch {
  /** Runs in the forked stage 1; never returns. */
  stage1(channel: SyncChannel): never;
  /** Puts stage 1 in the container's cgroup before it does anything, so that everything it forks is born there. */
  placeStage1(pid: number): void;
  oomScoreAdj?: number;
}

/**
 * Returns stage 1's pid and the parent's ends of the channel (toParent.read,
 * toChild.write), stage 1 told to proceed. On a failure before that, stage 1
 * is killed and reaped, the channel closed, and the error thrown.
 */
export function launchStage1(launch: Stage1Launch): { pid: number; channel: SyncChannel } {
  const channel = openSyncChannel();
  const pid = forkChild();
  if (pid === 0) launch.stage1(channel);
  closeFd(channel.toParent.write);
  closeFd(channel.toChild.read);
  try {
    launch.placeStage1(pid);
    // Written from here, while stage 1 is still ours to write to (its /proc
    // files turn root-owned once it is non-dumpable); its children inherit it.
    if (launch.oomScoreAdj !== undefined) writeOomScoreAdj(pid, launch.oomScoreAdj);
    sendMessage(channel.toChild.write, { type: 'proceed' });
  } catch (err) {
    sendSignal(pid, 9);
    waitPid(pid);
    closeFd(channel.toParent.read);
    closeFd(channel.toChild.write);
    throw err;
  }
  return { pid, channel };
}

function writeOomScoreAdj(pid: number, value: number): void {
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, String(value));
  } catch (err) {
    throw configError('/process/oomScoreAdj', `write /proc/${pid}/oom_score_adj: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** For an error when stage 1 ended without a word. */
export function describeStage1Exit(status: WaitResult): string {
  return status.signal !== null ? `stage 1 killed by signal ${status.signal}` : `stage 1 exit status ${status.exitCode}`;
}
