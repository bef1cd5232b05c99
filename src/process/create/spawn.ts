// The parent's side of making a container process: fork stage 1, answer its
// requests, and return the init's pid once the init reports `ready`.
import { closeFd } from '../../linux/fd';
import { waitPid, type WaitResult } from '../../linux/proc';
import { sendSignal } from '../../linux/signals';
import { waitUntilGone } from '../../linux/proc-info';
import { UserError } from '../../errors';
import type { ContainerPlan } from '../plan/container-plan';
import { writeIdMappings } from './id-mappings';
import { runStage1 } from './stage1';
import { moveNetDevices } from './net-devices';
import { readChildMessages, sendMessage, type ProgressMessage, type SyncChannel } from '../channel/sync';
import { describeStage1Exit, launchStage1 } from '../channel/launch';
import { closeIdmappedMounts, makeIdmappedMounts } from './idmapped-mounts';

export interface SpawnCallbacks {
  /** Puts stage 1 in the container's cgroup before it does anything, so that everything it forks is born there. */
  placeStage1(pid: number): void;
  /**
   * Stage 1 reported the init's pid: called at once, before the init is
   * ready, so that the caller can record it (a create killed from here on
   * leaves a pid that `delete --force` can kill). A throw kills the init.
   */
  initForked(initPid: number): void;
  /** Runs the prestart and createRuntime hooks (the init waits, mounts made, root not yet switched). */
  runRuntimeHooks(initPid: number): void;
}

/** Creates the container's init, set up and blocked on the exec fifo. Returns its pid. */
export function spawnContainerInit(plan: ContainerPlan, callbacks: SpawnCallbacks): number {
  // Made while still the host's root and inherited through both forks; ours
  // are closed once the init holds its copies (or is gone).
  const idmappedMountFds = makeIdmappedMounts(plan.spec, plan.idmappedMounts);
  try {
    return spawnWithPlan({ ...plan, idmappedMountFds }, callbacks);
  } finally {
    closeIdmappedMounts(idmappedMountFds);
  }
}

function spawnWithPlan(plan: ContainerPlan, callbacks: SpawnCallbacks): number {
  const { pid: stage1, channel } = launchStage1({
    stage1: (ch) => runStage1(plan, ch),
    placeStage1: callbacks.placeStage1,
    oomScoreAdj: plan.process.attributes.oomScoreAdj,
  });
  const progress: Progress = { stage1, initPid: 0, ready: false, hooksWanted: false };
  let stage1Status: WaitResult | null = null;
  try {
    const outcome = readChildMessages(channel.toParent.read, 'create', (message) => answer(message, progress, plan, channel, callbacks));
    if (outcome.error) throw outcome.error;
    if (!outcome.done) {
      stage1Status = waitPid(stage1) as WaitResult;
      throw new UserError(`container init exited before it was ready (${describeStage1Exit(stage1Status)})`);
    }
    return progress.initPid;
  } catch (err) {
    if (progress.initPid > 0 && sendSignal(progress.initPid, 9)) waitUntilGone(progress.initPid);
    throw err;
  } finally {
    closeFd(channel.toParent.read);
    closeFd(channel.toChild.write);
    if (stage1Status === null) waitPid(stage1);
  }
}

interface Progress {
  stage1: number;
  initPid: number;
  ready: boolean;
  hooksWanted: boolean;
}

/**
 * One message from stage 1 or the init; true once the init is ready. Both
 * write to the same pipe: under load the init's `ready` or `run-hooks` can
 * overtake stage 1's `init-forked`, so each waits until the pid is known.
 */
function answer(message: ProgressMessage, progress: Progress, plan: ContainerPlan, channel: SyncChannel, callbacks: SpawnCallbacks): boolean {
  if (message.type === 'userns-created') {
    writeIdMappings(progress.stage1, plan.spec);
    sendMessage(channel.toChild.write, { type: 'mappings-written' });
  } else if (message.type === 'netns-created') {
    sendMessage(channel.toChild.write, { type: 'net-devices-moved', devices: moveNetDevices(plan, progress.stage1) });
  } else if (message.type === 'init-forked') {
    // Set first: if the callback fails, spawnWithPlan kills the init.
    progress.initPid = message.pid;
    callbacks.initForked(message.pid);
  } else if (message.type === 'ready') {
    progress.ready = true;
  } else if (message.type === 'run-hooks') {
    progress.hooksWanted = true;
  }
  if (progress.hooksWanted && progress.initPid > 0) {
    progress.hooksWanted = false;
    callbacks.runRuntimeHooks(progress.initPid);
    sendMessage(channel.toChild.write, { type: 'hooks-done' });
  }
  return progress.ready && progress.initPid > 0;
}
