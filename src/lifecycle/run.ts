// `run`: create + start, and in the foreground wait for the container's
// process, forwarding signals to it, then delete it. The exit code is the
// process' own, or 128+N when signal N killed it.
import { constants } from 'node:os';
import { prctlSet, PR_SET_CHILD_SUBREAPER, waitPidAsync } from '../linux/proc';
import { sendSignal } from '../linux/signals';
import { createContainer, type CreateOptions } from './create';
import { startContainer } from './start';
import { deleteContainer } from './delete';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

export interface RunOptions extends CreateOptions {
  detach?: boolean;
  /** Leave the stopped container's state for `state` and `delete`. */
  keep?: boolean;
}

/** Returns the exit code for the caller to exit with. */
export async function runContainer(opts: RunOptions): Promise<number> {
  // The init is forked by a short-lived stage 1; as subreaper we become its
  // parent when stage 1 exits, and can wait for it.
  if (!opts.detach) prctlSet(PR_SET_CHILD_SUBREAPER, 1, 'PR_SET_CHILD_SUBREAPER');
  const record = await createContainer(opts);
  try {
    await startContainer(opts.root, opts.id);
  } catch (err) {
    await deleteContainer(opts.root, opts.id, true);
    throw err;
  }
  if (opts.detach) return 0;
  const forwarders = FORWARDED.map((name) => {
    const handler = (): void => void sendSignal(record.pid, constants.signals[name]);
    process.on(name, handler);
    return [name, handler] as const;
  });
  try {
    const result = await waitPidAsync(record.pid);
    return result.signal !== null ? 128 + result.signal : (result.exitCode ?? 0);
  } finally {
    for (const [name, handler] of forwarders) process.off(name, handler);
    if (!opts.keep) await deleteContainer(opts.root, opts.id, true);
  }
}
