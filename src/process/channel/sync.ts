// The protocol between `tsrun create` (the parent), the stage-1 child it
// forks, and the container init that stage 1 forks. Two pipes made before the
// first fork carry newline-terminated JSON messages; each message is far
// below PIPE_BUF, so a write is atomic even with two writers.
//
//  step | from    | to      | message              | meaning
//  -----+---------+---------+----------------------+-----------------------------------------
//   0   | parent  | stage 1 | proceed              | stage 1 is in the container's cgroup: go on
//   1   | stage 1 | parent  | userns-created       | new user namespace exists; write the id maps
//   2   | parent  | stage 1 | mappings-written     | uid_map/gid_map (and setgroups) are written
//   2a  | stage 1 | parent  | netns-created        | new network namespace exists; move linux.netDevices into it
//   2b  | parent  | stage 1 | net-devices-moved {devices} | moved and renamed; stage 1 re-adds addresses, sets them up
//   3   | stage 1 | parent  | init-forked {pid}    | init exists (pid in the parent's pid namespace)
//   3a  | init    | parent  | run-hooks            | mounts made, root not yet switched: run prestart/createRuntime
//   3b  | parent  | init    | hooks-done           | they succeeded: run createContainer, switch root
//   4   | init    | parent  | ready                | set up; about to block on the exec fifo
//   *   | any     | parent  | error {report}       | set-up failed (reports.ts: step, call, errno, path); the sender exits non-zero
//
// Step 1-2 happen only when the config asks for a new user namespace, 2a-2b
// only when it has linux.netDevices (2b may exceed PIPE_BUF: only the parent
// writes to stage 1's pipe, and the reader reassembles lines), 3a-3b
// only when it has prestart, create* or startContainer hooks. Steps
// 3 and 4 come from two processes and may arrive in either order. The
// parent reads until it has both, or an `error`; end-of-file before either means a
// child died without a word (its wait status is then reported).
//
// `tsrun exec` uses the same pipes with its own two children:
//   0   | parent  | stage 1 | proceed              | the exec's stage 1 is in the container's cgroup
//   1   | stage 1 | parent  | exec-forked {pid}    | the process to exec exists (pid in the parent's namespace)
//   *   | process | parent  | error {report}       | it could not exec; end of file without one: it did
//
// readChildMessages() is the parent's one reader for both.
import { makePipe, readFd, writeFd, closeFd } from '../../linux/fd';
import { exitNow } from '../../linux/proc';
import type { ChildError } from '../../errors';
import { errorOf, reportOf, type ErrorReport } from './reports';
import type { NetAddress } from '../../linux/netlink-message';

export type ChildMessage =
  | { type: 'userns-created' }
  | { type: 'netns-created' }
  | { type: 'init-forked'; pid: number }
  | { type: 'exec-forked'; pid: number }
  | { type: 'run-hooks' }
  | { type: 'ready' }
  | { type: 'error'; report: ErrorReport };

/** One of linux.netDevices as the runtime tells stage 1 after moving it (create/net-devices.ts). */
export interface MovedNetDevice {
  /** Its name on the host (the config's key). */
  hostName: string;
  /** Its name in the container: the config's `name`, maybe a `%d` template, or the host name. */
  name: string;
  /** Its index and hardware address before the move, to find it when the kernel chose its name. */
  index: number;
  hwAddress: string;
  /** The permanent, global addresses it had. */
  addresses: NetAddress[];
}

export type ParentMessage =
  | { type: 'proceed' }
  | { type: 'mappings-written' }
  | { type: 'net-devices-moved'; devices: MovedNetDevice[] }
  | { type: 'hooks-done' };

export interface SyncChannel {
  /** Children write here, the parent reads. */
  toParent: { read: number; write: number };
  /** The parent writes here, stage 1 reads. */
  toChild: { read: number; write: number };
}

export function openSyncChannel(): SyncChannel {
  return { toParent: makePipe(), toChild: makePipe() };
}

/** A line reader over a raw fd: buffers what follows the first newline. */
export class MessageReader<T> {
  private pending = '';

  constructor(private readonly fd: number) {}

  /** The next message, or null at end of file. */
  next(): T | null {
    for (;;) {
      const nl = this.pending.indexOf('\n');
      if (nl >= 0) {
        const line = this.pending.slice(0, nl);
        this.pending = this.pending.slice(nl + 1);
        return JSON.parse(line) as T;
      }
      const chunk = readFd(this.fd, 4096);
      if (chunk.length === 0) return null;
      this.pending += chunk.toString('utf8');
    }
  }
}

/** In a child: the parent's next message must be `type`; anything else (or its end) fails with `otherwise`. */
export function expectMessage(fromParent: MessageReader<ParentMessage>, type: ParentMessage['type'], otherwise: string): void {
  if (fromParent.next()?.type !== type) throw new Error(otherwise);
}

export function sendMessage(fd: number, message: ChildMessage | ParentMessage): void {
  writeFd(fd, JSON.stringify(message) + '\n');
}

export function closeChannelEnd(fds: number[]): void {
  for (const fd of fds) closeFd(fd);
}

export type ProgressMessage = Exclude<ChildMessage, { type: 'error' }>;

/**
 * The parent's reader of what its children send. Each message but `error`
 * goes to `onMessage`, which returns true once it has what it waited for.
 * The first `error` is rebuilt as the error it reports, named after `verb`;
 * `drain` reads on to the end of the pipe after it (exec still needs the
 * failed process' pid to reap it). `done` is false when every writer closed
 * the pipe before onMessage was satisfied.
 */
export function readChildMessages(
  fd: number,
  verb: string,
  onMessage: (message: ProgressMessage) => boolean,
  options: { drain?: boolean } = {},
): { done: boolean; error?: ChildError } {
  const reader = new MessageReader<ChildMessage>(fd);
  let error: ChildError | undefined;
  for (let message = reader.next(); message !== null; message = reader.next()) {
    if (message.type === 'error') {
      error ??= errorOf(message.report, verb);
      if (!options.drain) return { done: false, error };
    } else if (onMessage(message)) {
      return error === undefined ? { done: true } : { done: true, error };
    }
  }
  return error === undefined ? { done: false } : { done: false, error };
}

/** Tells the parent why this child fails; a parent already gone is not an error. */
export function reportError(fd: number, err: unknown): void {
  try {
    sendMessage(fd, { type: 'error', report: reportOf(err) });
  } catch {
    // the parent is gone; nothing to tell
  }
}

/**
 * The body of a forked child (docs/architecture.md §6.7: no exception may escape a
 * fork): a throw is reported as `error`, and the child ends with _exit.
 */
export function runForkedChild(report: number, body: () => void): never {
  let code = 0;
  try {
    body();
  } catch (err) {
    code = 1;
    reportError(report, err);
  }
  return exitNow(code);
}
