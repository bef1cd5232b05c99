// SCMP_ACT_NOTIFY's hand-over: the listener fd goes to the agent at
// linux.seccomp.listenerPath with the runtime-spec "container process state"
// in one message. The parent connects before forking (a host path, reached
// with the runtime's own credentials, which a container's root in a user
// namespace may not have, and invisible after pivot_root); the init inherits
// the socket and sends on it once the filter is loaded.
import { hostPidOfSelf } from '../../linux/proc-info';
import type { SeccompOwner } from '../plan/seccomp';
import { connectUnix, sendFds } from '../../linux/unix-socket';
import { closeFd } from '../../linux/fd';
import { currentPid } from '../../linux/proc';
import { OCI_VERSION } from '../../spec/default-spec';
import { UserError } from '../../errors';

export type { SeccompOwner };

/**
 * Runs `fork` (which forks the init) with the agent's socket connected and
 * recorded in the plan; the parent's copy is closed afterwards, so the agent
 * sees the end of the stream once the init has sent and closed its own.
 */
export function withSeccompListener<T>(plan: SeccompOwner, fork: () => T): T {
  const notify = plan.seccomp?.notify;
  if (!notify) return fork();
  try {
    notify.socketFd = connectUnix(notify.listenerPath);
  } catch (err) {
    throw new UserError(`seccomp listener ${notify.listenerPath}: ${(err as Error).message}`);
  }
  try {
    return fork();
  } finally {
    closeFd(notify.socketFd);
    notify.socketFd = -1;
  }
}

let hostPid = 0;

/**
 * In the init before the root switch: the agent needs the init's pid as the
 * host sees it, and only the host's /proc (still mounted here) tells it to a
 * process in a new pid namespace.
 */
export function noteHostPid(plan: SeccompOwner, pid = hostPidOfSelf() || currentPid()): void {
  if (plan.seccomp?.notify) hostPid = pid;
}

/** In the init: sends the listener and the process state, then closes both descriptors. */
export function sendListener(plan: SeccompOwner, listener: number, status: 'creating' | 'created' | 'running'): void {
  const notify = plan.seccomp?.notify;
  if (!notify) return;
  try {
    sendFds(notify.socketFd, Buffer.from(JSON.stringify(processState(plan, status))), [listener]);
  } finally {
    closeFd(listener);
    closeFd(notify.socketFd);
  }
}

/** runtime-spec config-linux.md "containerProcessState". */
function processState(plan: SeccompOwner, status: string): object {
  const ociVersion = plan.spec.ociVersion ?? OCI_VERSION;
  const pid = hostPid > 0 ? hostPid : currentPid();
  return {
    ociVersion,
    fds: ['seccompFd'],
    pid,
    ...(plan.seccomp?.notify?.metadata !== undefined && { metadata: plan.seccomp.notify.metadata }),
    state: { ociVersion, id: plan.id, status, pid: plan.initPid ?? pid, bundle: plan.bundle, ...(plan.spec.annotations && { annotations: plan.spec.annotations }) },
  };
}
