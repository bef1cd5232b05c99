// `run`: create + start, and in the foreground wait for the container's
// process, forwarding signals to it, then delete it. The exit code is the
// process' own, or 128+N when signal N killed it.
import { prctlSet, PR_SET_CHILD_SUBREAPER, waitPidAsync } from '../linux/proc';
import { SignalForwarder } from './signal-forwarder';
import { createContainer, type CreateOptions } from './create';
import type { ContainerRecord } from './store';
import { startContainer } from './start';
import { deleteContainer } from './delete';
import { ConsoleChannel, TerminalRelay } from './console-relay';
import { checkConsoleSocket } from '../process/setup/terminal';
import { warmUpCgroupMove } from '../cgroups/move-warmup';

export interface RunOptions extends CreateOptions {
  detach?: boolean;
  /** Leave the stopped container's state for `state` and `delete`. */
  keep?: boolean;
}

/** Returns the exit code for the caller to exit with. */
export async function runContainer(opts: RunOptions): Promise<number> {
  if (opts.detach) {
    await createAndStart(opts);
    return 0;
  }
  // In the foreground a terminal is relayed by tsrun: runc refuses a console socket here.
  checkConsoleSocket(false, opts.consoleSocket, false);
  // Before libc loads (prctl): see createContainer.
  warmUpCgroupMove();
  // The init is forked by a short-lived stage 1; as subreaper we become its
  // parent when stage 1 exits, and can wait for it.
  prctlSet(PR_SET_CHILD_SUBREAPER, 1, 'PR_SET_CHILD_SUBREAPER');
  // Listening before the container starts: a signal that came between start
  // and the handlers would kill tsrun and orphan the container. Until the
  // process runs they are kept, then forwarded in order (as runc does).
  const forwarder = new SignalForwarder();
  // process.terminal: the init sends its pty master here (unused without one).
  const channel = new ConsoleChannel();
  const relay: { current?: TerminalRelay } = {};
  try {
    const record = await createAndStart({ ...opts, consoleFd: channel.initEnd }, () => {
      const master = channel.takeMaster();
      if (master === null) return;
      // Resizing the pty signals the container through its terminal, as runc does.
      forwarder.ignore('SIGWINCH');
      relay.current = new TerminalRelay(master);
    });
    forwarder.target(record.pid);
    try {
      const result = await waitPidAsync(record.pid);
      return result.signal !== null ? 128 + result.signal : (result.exitCode ?? 0);
    } finally {
      // Reaped: its pid may be reused, so nothing more is sent to it.
      forwarder.stop();
      await relay.current?.finish();
      if (!opts.keep) await deleteContainer(opts.root, opts.id, true);
    }
  } finally {
    forwarder.stop();
    channel.close();
    relay.current?.stop();
  }
}

/** `beforeStart` runs between create and start (the terminal relay is set up there). */
async function createAndStart(opts: RunOptions, beforeStart?: () => void): Promise<ContainerRecord> {
  const record = await createContainer({ ...opts, startsAtOnce: true });
  try {
    beforeStart?.();
    await startContainer(opts.root, opts.id);
  } catch (err) {
    await deleteContainer(opts.root, opts.id, true);
    throw err;
  }
  return record;
}
