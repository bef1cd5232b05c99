// Stage 1: the first child. It enters the container's namespaces (joining
// those given by path, then creating the rest, the user namespace first) and
// forks the init, which is the first process of any new pid namespace.
import { writeFileSync } from 'node:fs';
import { unshareNamespaces } from '../../linux/namespaces';
import { joinNamespaces, openNamespaces } from '../setup/namespaces';
import { runSteps, type Step } from '../setup/steps';
import { becomeRootInNamespace, exitNow, prctlSet, PR_SET_DUMPABLE } from '../../linux/proc';
import { forkChild } from '../../linux/fork';
import { closeFd } from '../../linux/fd';
import type { ContainerPlan } from '../plan/container-plan';
import { holdExecFifo } from './start-fifo';
import { expectMessage, MessageReader, runForkedChild, sendMessage, type ParentMessage, type SyncChannel } from '../channel/sync';
import { formatTimeOffsets } from './id-mappings';
import { runInit } from './init';
import { cgroupDirsOfThisProcess } from '../rootfs/mounts';
import { configureMovedDevices, wantedNetDevices } from './net-devices';

interface Stage1State {
  channel: SyncChannel;
  fromParent: MessageReader<ParentMessage>;
  fifoFd: number;
}

/** Stage 1's steps, in order, before it forks the init. */
export const STAGE1_STEPS: ReadonlyArray<Step<ContainerPlan, Stage1State>> = [
  // Nothing of the container may run before it is in its cgroup.
  ['cgroup placement', (_plan, st) => expectMessage(st.fromParent, 'proceed', 'the runtime did not place stage 1 in its cgroup')],
  // Only a user namespace may be refused a cgroup mount (and need them).
  ['note cgroup directories', (plan) => plan.inUserNamespace && plan.spec.mounts?.some((m) => m.type === 'cgroup') && (plan.cgroupHostDirs = cgroupDirsOfThisProcess())],
  // Opened while still the host's root, before entering any namespace: as
  // root of a new user namespace the init may not search a 0700 state root
  // (runc too hands its init an open fifo). The init reopens it by fd.
  ['hold exec fifo', (plan, st) => (st.fifoFd = holdExecFifo(plan.fifoPath))],
  ['join namespaces', (plan) => joinNamespaces(plan.join, openNamespaces(plan.join))],
  ['user namespace', (plan, st) => plan.newUserNamespace && makeUserNamespace(st)],
  ['new namespaces', (plan) => unshareNamespaces(plan.create)],
  // Before the init exists, so that hooks and the process find them there.
  ['network devices', (plan, st) => wantedNetDevices(plan.spec).length > 0 && receiveNetDevices(st)],
  ['time offsets', (plan) => plan.create.includes('time') && writeTimeOffsets(formatTimeOffsets(plan.spec), plan.inUserNamespace)],
];

/** Never returns: the process ends with _exit. */
export function runStage1(plan: ContainerPlan, channel: SyncChannel): never {
  const report = channel.toParent.write;
  return runForkedChild(report, () => {
    closeFd(channel.toParent.read);
    closeFd(channel.toChild.write);
    const state: Stage1State = { channel, fromParent: new MessageReader<ParentMessage>(channel.toChild.read), fifoFd: -1 };
    runSteps(STAGE1_STEPS, plan, state);
    const pid = forkChild({ retry: !plan.create.includes('pid') });
    if (pid === 0) runInit({ ...plan, fifoPath: `/proc/self/fd/${state.fifoFd}` }, report, channel.toChild.read);
    closeFd(channel.toChild.read);
    sendMessage(report, { type: 'init-forked', pid });
  });
}

/** The parent writes the id mappings of the new user namespace; then this process is its root. */
function makeUserNamespace(st: Stage1State): void {
  unshareNamespaces(['user']);
  sendMessage(st.channel.toParent.write, { type: 'userns-created' });
  expectMessage(st.fromParent, 'mappings-written', 'the runtime did not write the id mappings');
  becomeRootInNamespace();
}

/** The runtime moves linux.netDevices into the new network namespace; this process, inside it, finishes them. */
function receiveNetDevices(st: Stage1State): void {
  sendMessage(st.channel.toParent.write, { type: 'netns-created' });
  const answer = st.fromParent.next();
  if (answer?.type !== 'net-devices-moved') throw new Error('the runtime did not move the network devices');
  configureMovedDevices(answer.devices);
}

/**
 * Once root of a user namespace, the process is not dumpable (its ids
 * changed), so its /proc/self files belong to the host's root, for whom the
 * namespace's root cannot write: EACCES. Dumpable for the write only.
 */
function writeTimeOffsets(offsets: string, inUserNamespace: boolean): void {
  if (!offsets) return;
  if (!inUserNamespace) {
    writeFileSync('/proc/self/timens_offsets', offsets);
    return;
  }
  prctlSet(PR_SET_DUMPABLE, 1, 'PR_SET_DUMPABLE');
  try {
    writeFileSync('/proc/self/timens_offsets', offsets);
  } finally {
    prctlSet(PR_SET_DUMPABLE, 0, 'PR_SET_DUMPABLE');
  }
}
