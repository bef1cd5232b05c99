// `run` in the foreground with process.terminal and no --console-socket (as
// runc): the init sends its pty master over a socketpair made before the
// fork, and tsrun relays between its own stdio and the master until the
// container is gone: stdin -> master (tsrun's terminal in raw mode, so keys
// like ^C reach the container's terminal as bytes), master -> stdout, and
// tsrun's window size -> the container's terminal. This copies the
// container's I/O; tsrun's own messages never go through here.
import { isatty, ReadStream } from 'node:tty';
import { closeFd } from '../linux/fd';
import { recvFds, socketPair } from '../linux/unix-socket';
import { getWindowSize, makeRaw, restoreTerminal, setWindowSize } from '../linux/pty';

/** The socketpair the init sends the master on. */
export class ConsoleChannel {
  /** The end the init inherits and sends on (CreateOptions.consoleFd). */
  readonly initEnd: number;
  private readonly ownEnd: number;
  private readonly open = { init: true, own: true };

  constructor() {
    [this.ownEnd, this.initEnd] = socketPair();
  }

  /**
   * Once create has returned: the master, or null for a container without a
   * terminal. The init sends it before `ready`, so it is already queued here.
   * Closes the channel.
   */
  takeMaster(): number | null {
    try {
      const got = recvFds(this.ownEnd, 64, 1, { dontWait: true });
      return got?.fds[0] ?? null;
    } finally {
      this.close();
    }
  }

  /** Idempotent. */
  close(): void {
    if (this.open.init) closeFd(this.initEnd);
    if (this.open.own) closeFd(this.ownEnd);
    this.open.init = this.open.own = false;
  }
}

/** How long to wait, once the container's process has exited, for the rest of its output. */
const DRAIN_MS = 2000;

export class TerminalRelay {
  private readonly master: ReadStream;
  private readonly closed: Promise<void>;
  /** tsrun's terminal settings before raw mode, when stdin is a terminal. */
  private readonly saved: Buffer | null;
  private readonly onWinch = (): void => this.resize();
  private readonly onExit = (): void => this.stop();
  /** A reader of tsrun's stdout that went away (EPIPE) must not crash tsrun and orphan the container. */
  private readonly onOutputError = (): void => {
    this.outputGone = true;
  };
  private outputGone = false;
  private stopped = false;

  /** Starts relaying; call before the container starts, so it starts with tsrun's window size. */
  constructor(private readonly masterFd: number) {
    this.resize();
    this.master = new ReadStream(masterFd);
    this.closed = new Promise((resolve) => this.master.once('close', () => resolve()));
    // EIO once every slave descriptor is closed: the end of the container's output.
    this.master.on('error', () => this.master.destroy());
    process.stdout.on('error', this.onOutputError);
    this.master.on('data', (chunk: Buffer) => this.outputGone || process.stdout.write(chunk));
    this.saved = isatty(0) ? rawOrNull(0) : null;
    // Not ended with stdin: runc does not pass an end of input on either.
    process.stdin.pipe(this.master, { end: false });
    process.on('SIGWINCH', this.onWinch);
    process.once('exit', this.onExit);
  }

  /** After the container's process exited: its remaining output, then stop. */
  async finish(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_MS)));
    await Promise.race([this.closed, timeout]);
    clearTimeout(timer);
    this.stop();
  }

  /** Restores tsrun's terminal and lets go of stdin and the master. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    process.off('SIGWINCH', this.onWinch);
    process.off('exit', this.onExit);
    process.stdout.off('error', this.onOutputError);
    process.stdin.unpipe(this.master);
    process.stdin.pause();
    if (this.saved) restoreTerminal(0, this.saved);
    this.master.destroy();
  }

  /** The size of tsrun's terminal (the first of stdin, stdout, stderr that is one) onto the container's. */
  private resize(): void {
    // Once closed, the descriptor's number may be reused by anything.
    if (this.stopped || this.master?.destroyed) return;
    const fd = [0, 1, 2].find((n) => isatty(n));
    if (fd === undefined) return;
    try {
      const size = getWindowSize(fd);
      // 0x0 is a terminal nobody sized (script without a terminal): keep consoleSize.
      if (size.rows > 0 && size.columns > 0) setWindowSize(this.masterFd, size);
    } catch {
      // the master is gone: the container has ended
    }
  }
}

/** cfmakeraw, not Node's setRawMode, which keeps output processing on; null when the terminal refuses. */
function rawOrNull(fd: number): Buffer | null {
  try {
    return makeRaw(fd);
  } catch {
    return null;
  }
}
