// The container init: everything between fork and execve, as an explicit
// ordered list of steps. Runs in the forked child, so only synchronous calls.
import type { ContainerPlan } from './plan';
import { bringLoopbackUp } from '../linux/net';
import { changeDir, execProgram, exitNow, newSession, setDomainname, setHostname, setIds, setUmask } from '../linux/proc';
import { changeRoot } from '../linux/mount';
import { writeFd } from '../linux/fd';
import { buildRootfs, finishRootfs } from './rootfs';
import { holdExecFifo, waitForStart } from './exec-fifo';
import { cleanProcessForExec, lookPath, withHome } from './exec';
import { sendMessage } from './sync';

interface InitState {
  fifoFd: number;
  program: string;
  env: string[];
}

type Step = [name: string, run: (plan: ContainerPlan, state: InitState) => void];

/** Steps up to `ready`; a failure in any of them fails `create`. */
const SETUP_STEPS: Step[] = [
  ['new session', () => newSession()],
  ['enter bundle', (plan) => changeDir(plan.bundle)],
  ['hold exec fifo', (plan, st) => (st.fifoFd = holdExecFifo(plan.fifoPath))],
  ['loopback', (plan) => plan.create.includes('network') && bringLoopbackUp()],
  ['root filesystem', (plan) => (plan.hasMountNamespace ? buildRootfs(plan) : changeRoot(plan.rootfs))],
  ['finish root filesystem', (plan) => plan.hasMountNamespace && finishRootfs(plan.spec)],
  ['hostname', (plan) => plan.spec.hostname !== undefined && setHostname(plan.spec.hostname)],
  ['domainname', (plan) => plan.spec.domainname !== undefined && setDomainname(plan.spec.domainname)],
  ['user', (plan) => switchUser(plan)],
  ['cwd', (plan) => changeDir(plan.spec.process?.cwd ?? '/')],
  ['find program', (plan, st) => findProgram(plan, st)],
];

function switchUser(plan: ContainerPlan): void {
  const user = plan.spec.process?.user ?? { uid: 0, gid: 0 };
  setIds(user.uid, user.gid, user.additionalGids ?? []);
  setUmask(user.umask ?? 0o022);
}

function findProgram(plan: ContainerPlan, st: InitState): void {
  const proc = plan.spec.process;
  if (!proc?.args?.length) throw new Error('config.json: /process/args: must not be empty');
  st.env = withHome(proc.env ?? [], proc.user?.uid ?? 0);
  st.program = lookPath(proc.args[0], st.env);
}

/** Never returns: ends in execve or _exit. */
export function runInit(plan: ContainerPlan, report: number): never {
  const state: InitState = { fifoFd: -1, program: '', env: [] };
  try {
    for (const [, run] of SETUP_STEPS) run(plan, state);
    sendMessage(report, { type: 'ready' });
  } catch (err) {
    try {
      sendMessage(report, { type: 'error', message: (err as Error).message });
    } catch {
      // parent gone
    }
    return exitNow(1);
  }
  try {
    waitForStart(state.fifoFd);
    cleanProcessForExec(plan.preserveFds);
    execProgram(state.program, plan.spec.process?.args ?? [], state.env);
  } catch (err) {
    try {
      writeFd(2, `tsrun: ${(err as Error).message}\n`);
    } catch {
      // no stderr
    }
  }
  return exitNow(127);
}
