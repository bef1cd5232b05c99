// The parent's side of making a container process: fork stage 1, answer its
// requests, and return the init's pid once the init reports `ready`.
import { forkChild } from '../../linux/fork';
import { closeFd } from '../../linux/fd';
import { waitPid, type WaitResult } from '../../linux/proc';
import { sendSignal } from '../../linux/signals';
import type { ContainerPlan } from '../plan/container-plan';
import { writeIdMappings } from './id-mappings';
import { runStage1 } from './stage1';
import { MessageReader, openSyncChannel, sendMessage, type ChildMessage } from '../channel/sync';
import { UserError } from '../../errors';
import { waitUntilGone } from '../../linux/proc-info';
import { writeFileSync } from 'node:fs';

export interface SpawnCallbacks {
  /** Puts stage 1 in the container's cgroup before it does anything, so that everything it forks is born there. */
  placeStage1(pid: number): void;
  /** Runs the prestart and createRuntime hooks (the init waits, mounts made, root not yet switched). */
  runRuntimeHooks(initPid: number): void;
}

/** Creates the container's init, set up and blocked on the exec fifo. Returns its pid. */
export function spawnContainerInit(plan: ContainerPlan, callbacks: SpawnCallbacks): number {
  const channel = openSyncChannel();
  const stage1 = forkChild();
  if (stage1 === 0) runStage1(plan, channel);
  closeFd(channel.toParent.write);
  closeFd(channel.toChild.read);
  try {
    callbacks.placeStage1(stage1);
    // Written from here, while stage 1 is still ours to write to (its /proc
    // files turn root-owned once it is non-dumpable); its children inherit it.
    const oomScoreAdj = plan.attributes.oomScoreAdj;
    if (oomScoreAdj !== undefined) writeOomScoreAdj(stage1, oomScoreAdj);
  } catch (err) {
    sendSignal(stage1, 9);
    waitPid(stage1);
    closeFd(channel.toParent.read);
    closeFd(channel.toChild.write);
    throw err;
  }
  sendMessage(channel.toChild.write, { type: 'proceed' });
  let initPid = 0;
  // Stage 1 and the init write to the same pipe: under load the init's
  // `ready` or `run-hooks` can overtake stage 1's `init-forked`, so each
  // waits until the pid is known.
  let ready = false;
  let hooksWanted = false;
  let stage1Status: WaitResult | null = null;
  try {
    const reader = new MessageReader<ChildMessage>(channel.toParent.read);
    for (;;) {
      const message = reader.next();
      if (message === null) {
        stage1Status = waitPid(stage1) as WaitResult;
        throw new UserError(`container init exited before it was ready (${describeExit(stage1Status)})`);
      }
      if (message.type === 'userns-created') {
        writeIdMappings(stage1, plan.spec);
        sendMessage(channel.toChild.write, { type: 'mappings-written' });
      } else if (message.type === 'init-forked') {
        initPid = message.pid;
      } else if (message.type === 'error') {
        throw new UserError(message.message);
      } else if (message.type === 'ready') {
        ready = true;
      } else if (message.type === 'run-hooks') {
        hooksWanted = true;
      }
      if (hooksWanted && initPid > 0) {
        hooksWanted = false;
        callbacks.runRuntimeHooks(initPid);
        sendMessage(channel.toChild.write, { type: 'hooks-done' });
      }
      if (ready && initPid > 0) return initPid;
    }
  } catch (err) {
    if (initPid > 0 && sendSignal(initPid, 9)) waitUntilGone(initPid);
    throw err;
  } finally {
    closeFd(channel.toParent.read);
    closeFd(channel.toChild.write);
    if (stage1Status === null) waitPid(stage1);
  }
}

function describeExit(status: WaitResult): string {
  return status.signal !== null ? `stage 1 killed by signal ${status.signal}` : `stage 1 exit status ${status.exitCode}`;
}

export function writeOomScoreAdj(pid: number, value: number): void {
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, String(value));
  } catch (err) {
    throw new UserError(`config.json: /process/oomScoreAdj: write /proc/${pid}/oom_score_adj: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}
