// `create`: validate the bundle, claim the id, make the cgroup and the init
// (left blocked on the exec fifo), record the state. On any failure every
// step already taken is undone, latest first: no state directory, cgroup,
// mount or process stays.
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, resolveRootfs } from '../spec/load';
import { OCI_VERSION } from '../spec/default-spec';
import type { Spec } from '../spec/types';
import { makePlan, hostIdsOfContainerRoot, containerSeccompOwner } from '../process/plan/container-plan';
import { createExecFifo } from '../process/create/start-fifo';
import { spawnContainerInit } from '../process/create/spawn';
import { checkHostNetDevices } from '../process/create/net-devices';
import { withSeccompListener } from '../process/setup/seccomp-listener';
import { hookState } from '../hooks/hook-points';
import { runLateHooks } from '../hooks/late-hooks';
import { runHooks } from '../hooks/run-hook';
import { readProcStat, waitUntilGone } from '../linux/proc-info';
import { sendSignal } from '../linux/signals';
import { planContainerCgroup } from '../cgroups/manager';
import { hasCgroupDirs } from '../cgroups/cgroupfs';
import { checkRootlessSpec, ownerName, rootlessCgroups, type RootlessFlag } from './rootless';
import { configError } from '../errors';
import { EXEC_FIFO_NAME, StateStore, writeFileAtomic, type ContainerRecord } from './store';
import { withContainerLock } from './lock';
import { validateId } from './ids';
import { stopHereForTest } from './test-stop';
import { logWarning } from '../log/logger';
import { unmountContainerRootfs } from './host-mounts';
import { checkConsoleSocket, connectConsoleSocket } from '../process/setup/terminal';
import { closeFd } from '../linux/fd';
import type { ContainerPlan } from '../process/plan/container-plan';
import { hostResctrl, joinIntelRdt, makeIntelRdtGroup, planIntelRdt, type IntelRdtPlan } from '../resctrl/group';
import type { ResctrlTree } from '../resctrl/tree';
import { warmUpCgroupMove } from '../cgroups/move-warmup';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  noPivot?: boolean;
  preserveFds?: number;
  /** --console-socket: where the pty master of a terminal container is sent. */
  consoleSocket?: string;
  /** `run` in the foreground: its own connected socket for the master; the detach rules do not apply. */
  consoleFd?: number;
  /** --systemd-cgroup: the cgroup is to be a systemd scope. */
  systemdCgroup?: boolean;
  /** `run`: start follows at once, so the init keeps its memory rather than give it back and fault it in again. */
  startsAtOnce?: boolean;
  /** --rootless (see rootless.ts); auto when left out. */
  rootless?: RootlessFlag;
}

export async function createContainer(opts: CreateOptions): Promise<ContainerRecord> {
  // First: loading and checking the config and the fork of stage 1 overlap
  // the grace period that making the cgroup and moving stage 1 into it
  // would otherwise wait for (move-warmup.ts).
  warmUpCgroupMove();
  const id = validateId(opts.id);
  const bundle = resolve(opts.bundle);
  const spec = loadConfig(bundle);
  if (!spec.process) throw configError('/process', 'must be present to create a container');
  checkRootlessSpec(spec);
  const rootless = rootlessCgroups(opts.rootless ?? 'auto');
  checkHostNetDevices(spec, rootless);
  if (opts.consoleFd === undefined) checkConsoleSocket(spec.process.terminal === true, opts.consoleSocket, true);
  const store = new StateStore(opts.root);
  stopHereForTest('before-lock');
  return withContainerLock(opts.root, id, async () => {
    stopHereForTest('locked');
    const undo: Array<() => void | Promise<void>> = [];
    try {
      return build(spec, id, bundle, { ...opts, rootless }, store, undo);
    } catch (err) {
      for (const step of undo.reverse()) {
        try {
          await step();
        } catch (cleanupErr) {
          logWarning(`cleaning up after a failed create: ${(cleanupErr as Error).message}`);
        }
      }
      throw err;
    }
  });
}

/** `opts.rootless` is decided by now (a boolean). */
function build(spec: Spec, id: string, bundle: string, opts: CreateOptions, store: StateStore, undo: Array<() => void | Promise<void>>): ContainerRecord {
  // Everything that can refuse the config is decided before anything is made.
  const fifoPath = join(store.dir(id), EXEC_FIFO_NAME);
  const rootfs = realpathSync(resolveRootfs(spec, bundle));
  const plan = makePlan(spec, { id, bundle, rootfs, fifoPath, noPivot: opts.noPivot ?? false, waitsForStart: opts.startsAtOnce !== true, preserveFds: opts.preserveFds ?? 0, warn: logWarning });
  const rdt = planContainerIntelRdt(spec, id);
  store.claim(id);
  undo.push(() => store.remove(id));
  stopHereForTest('claimed');
  const rootOwner = hostIdsOfContainerRoot(spec);
  createExecFifo(fifoPath, rootOwner.uid, rootOwner.gid);
  const cgroup = planContainerCgroup(spec, id, { systemdDriver: opts.systemdCgroup, rootless: opts.rootless === true });
  const resources = spec.linux?.resources ?? {};
  const record: ContainerRecord = {
    ociVersion: spec.ociVersion ?? OCI_VERSION,
    id,
    pid: 0,
    initStartTime: 0,
    bundle,
    rootfs,
    created: new Date().toISOString(),
    owner: ownerName(),
    annotations: spec.annotations,
    privatePidNamespace: plan.create.includes('pid'),
    mountsOnHost: !plan.hasMountNamespace,
    cgroup: cgroup.state,
    ...(rdt && { intelRdt: rdt.plan.state }),
    hooks: { poststart: spec.hooks?.poststart, poststop: spec.hooks?.poststop },
  };
  // On disk (pid 0) before the cgroup or any process exists: a create killed
  // from here on leaves a record `delete --force` cleans up after (stage 1,
  // killed or not, exits when the runtime is gone before letting it proceed).
  store.write(record);
  const hooks = poststopIfHooksBegan(record, undo);
  undo.push(() => cgroup.destroy());
  if (!plan.hasMountNamespace) undo.push(() => unmountContainerRootfs(rootfs));
  const closeConsole = attachConsole(plan, opts);
  undo.push(closeConsole);
  // The cgroup is made once stage 1 is forked and waits: its directories
  // need the cgroup lock, and by then the warm-up's wait for a grace period
  // (move-warmup.ts) has overlapped the fork too.
  const placeStage1 = (stage1: number): void => {
    cgroup.prepare(resources);
    // Rootless without the right to make any cgroup: the container has none,
    // and stays in the caller's (which its cgroup mount then shows).
    if (!hasCgroupDirs(cgroup.state)) record.cgroup = undefined;
    if (rdt) makeIntelRdtGroup(rdt.plan, rdt.tree, undo);
    cgroup.placeInit(stage1, resources, id);
    if (rdt) joinIntelRdt(rdt.plan.state, stage1, rdt.tree);
  };
  const pid = withSeccompListener(containerSeccompOwner(plan), () => spawnInit(plan, record, store, placeStage1, () => (hooks.began = true)));
  // The init has sent the master and closed its copy; ours goes too, so the receiver sees the end.
  closeConsole();
  // From here a failure (state or pid file not writable) must not leave the
  // init waiting on its fifo for ever, nor its cgroup busy.
  undo.push(() => {
    if (sendSignal(pid, 9)) waitUntilGone(pid);
  });
  stopHereForTest('init-ready');
  // Creation is over: the status is now the init's (created).
  delete record.creating;
  store.write(record);
  if (opts.pidFile) writeFileAtomic(resolve(opts.pidFile), String(pid));
  stopHereForTest('written');
  return record;
}

/**
 * The runtime-spec's create lifecycle: once the prestart/createRuntime hooks
 * have begun, a failed create ends with the poststop hooks, after everything
 * else is undone (this undo step is pushed early, so it runs late), so that
 * what a hook made (a network) goes too. Set `began` when the hooks start.
 */
function poststopIfHooksBegan(record: ContainerRecord, undo: Array<() => void | Promise<void>>): { began: boolean } {
  const hooks = { began: false };
  undo.push(async () => {
    if (hooks.began) await runLateHooks('poststop', record, 'stopped');
  });
  return hooks;
}

/**
 * Forks the container's init (spawn.ts) and returns its pid once it is
 * ready. Its pid and start time go into the record, marked `creating`, as
 * soon as stage 1 reports it: a create killed after the fork (while the
 * init finishes, or waits on its fifo) leaves a process `delete --force`
 * knows to kill, cgroup or none.
 */
function spawnInit(plan: ContainerPlan, record: ContainerRecord, store: StateStore, placeStage1: (pid: number) => void, hooksBegin: () => void): number {
  const spec = plan.spec;
  return spawnContainerInit(plan, {
    placeStage1: (stage1) => {
      placeStage1(stage1);
      stopHereForTest('stage1-forked');
    },
    initForked: (initPid) => {
      record.pid = initPid;
      record.initStartTime = readProcStat(initPid)?.startTime ?? 0;
      record.creating = true;
      store.write(record);
      stopHereForTest('init-forked');
    },
    runRuntimeHooks: (initPid) => {
      hooksBegin();
      const state = hookState(plan, 'creating', initPid);
      runHooks('prestart', spec.hooks?.prestart, state);
      runHooks('createRuntime', spec.hooks?.createRuntime, state);
    },
  });
}

/** linux.intelRdt planned on the host's resctrl tree (refused where there is none). */
function planContainerIntelRdt(spec: Spec, id: string): { plan: IntelRdtPlan; tree: ResctrlTree } | undefined {
  const rdt = spec.linux?.intelRdt;
  if (rdt === undefined) return undefined;
  const tree = hostResctrl('/linux/intelRdt');
  return { plan: planIntelRdt(rdt, id, tree), tree };
}

/**
 * Records in the plan the socket the init sends its pty master on: run's own,
 * or --console-socket connected here, where the host path is still visible
 * to the runtime's credentials. Returns an idempotent close of what it opened.
 */
function attachConsole(plan: ContainerPlan, opts: CreateOptions): () => void {
  if (!plan.spec.process?.terminal) return () => undefined;
  if (opts.consoleFd !== undefined) {
    plan.console = { socketFd: opts.consoleFd, describe: 'tsrun run' };
    return () => undefined;
  }
  const path = opts.consoleSocket as string;
  const socketFd = connectConsoleSocket(path);
  plan.console = { socketFd, describe: `console socket ${path}` };
  let open = true;
  return () => {
    if (open) closeFd(socketFd);
    open = false;
  };
}
