// process.terminal, as runc does it: the process opens a pty in its own
// /dev/ptmx (the container's devpts), sends the master to whoever asked for
// it over a unix socket (--console-socket, or `run`'s own socketpair) before
// `create` or `exec` returns, and makes the slave its controlling terminal
// and stdio. The container init also bind-mounts the slave on /dev/console.
//
// For `exec` (and any other forked process), reuse:
//  - parent, before forking: checkConsoleSocket(), then
//    connectConsoleSocket(path) - the host path may be invisible after the
//    child enters the container's mount namespace, as the init's is after
//    pivot_root;
//  - child, after entering the container (a session leader after setsid, no
//    controlling terminal, still privileged enough to chown):
//    setupTerminal({ socketFd, describe, uid, consoleSize, mountConsole: false });
//  - or, where the socket path is reachable, sendConsoleMaster(path, masterFd).
import { chmodSync, closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import type { ContainerPlan } from '../plan/container-plan';
import { UserError, SyscallError } from '../../errors';
import { closeFd, chownFd, dupTo, O_CLOEXEC, O_CREAT, O_WRONLY } from '../../linux/fd';
import { makeControllingTerminal, openPty, setWindowSize, type Pty } from '../../linux/pty';
import { connectUnix, sendFds } from '../../linux/unix-socket';
import { mountFs } from '../../linux/mount';
import { MS } from '../../linux/mount-options';

/** runc sends the master's name with it; receivers (containerd, conmon) only use the descriptor. */
const MASTER_NAME = '/dev/ptmx';
const O_EXCL = 0o200;

/**
 * runc's rules: a process that is not waited on in the foreground has no one
 * to relay its terminal but the console socket; and a socket is refused
 * where no pty would be sent on it.
 */
export function checkConsoleSocket(terminal: boolean, consoleSocket: string | undefined, detached: boolean): void {
  if (detached && terminal && !consoleSocket) {
    throw new UserError('cannot allocate tty if tsrun will detach without setting console socket');
  }
  if ((!detached || !terminal) && consoleSocket) {
    throw new UserError('cannot use console socket if tsrun will not detach or allocate tty');
  }
}

/** A connected socket to `path`, or an error naming it (a path nobody listens on fails here, before any fork). */
export function connectConsoleSocket(path: string): number {
  try {
    return connectUnix(path);
  } catch (err) {
    const detail = err instanceof SyscallError ? `${err.call}: ${err.errnoName}` : (err as Error).message;
    throw new UserError(`console socket ${path}: ${detail}`);
  }
}

/** Sends the master as one message on a connected socket; closes both descriptors whatever happens. */
export function sendMasterOn(socketFd: number, masterFd: number, describe: string): void {
  try {
    sendFds(socketFd, Buffer.from(MASTER_NAME), [masterFd]);
  } catch (err) {
    const detail = err instanceof SyscallError ? `${err.call}: ${err.errnoName}` : (err as Error).message;
    throw new Error(`sending the pty master to ${describe}: ${detail}`);
  } finally {
    closeFd(masterFd);
    closeFd(socketFd);
  }
}

/** Connects to the console socket at `socketPath`, sends `masterFd` and closes it. */
export function sendConsoleMaster(socketPath: string, masterFd: number): void {
  let socketFd: number;
  try {
    socketFd = connectConsoleSocket(socketPath);
  } catch (err) {
    closeFd(masterFd);
    throw err;
  }
  sendMasterOn(socketFd, masterFd, `console socket ${socketPath}`);
}

export interface TerminalSetup {
  /** Connected socket for the master; always closed. */
  socketFd: number;
  /** What the socket leads to, for error messages ("console socket /x.sock"). */
  describe: string;
  /** The process user: the slave is chowned to it (its group kept), as runc does. */
  uid: number;
  consoleSize?: { height: number; width: number };
  /** The container init binds the slave onto /dev/console; exec'd processes do not. */
  mountConsole: boolean;
}

/**
 * In a forked child (synchronous calls only), in the mount namespace and root
 * of the container: a new pty whose master goes out on the socket, and whose
 * slave becomes the controlling terminal and fds 0, 1, 2. The caller must be
 * a session leader without a controlling terminal.
 */
export function setupTerminal(setup: TerminalSetup): void {
  let pty: Pty;
  try {
    pty = openPty();
  } catch (err) {
    closeFd(setup.socketFd);
    throw new Error(`process.terminal: ${(err as Error).message} (a devpts mount at /dev/pts is needed)`);
  }
  try {
    const size = setup.consoleSize;
    // runc leaves the kernel's 0x0 unless both are given.
    if (size && size.height > 0 && size.width > 0) setWindowSize(pty.master, { rows: size.height, columns: size.width });
    if (setup.mountConsole) bindConsole(pty.slavePath);
  } catch (err) {
    closeFd(pty.master);
    closeFd(pty.slave);
    closeFd(setup.socketFd);
    throw err;
  }
  try {
    sendMasterOn(setup.socketFd, pty.master, setup.describe);
    chownSlave(pty.slave, setup.uid);
    makeControllingTerminal(pty.slave);
    for (const fd of [0, 1, 2]) dupTo(pty.slave, fd);
  } finally {
    if (pty.slave > 2) closeFd(pty.slave);
  }
}

/** The init's step: a terminal when the config asks for one. */
export function setupContainerTerminal(plan: ContainerPlan): void {
  const proc = plan.spec.process;
  if (!proc?.terminal) return;
  if (!plan.console) throw new Error('process.terminal: no console socket to send the pty master to');
  const { socketFd, describe } = plan.console;
  setupTerminal({ socketFd, describe, uid: proc.user?.uid ?? 0, consoleSize: proc.consoleSize, mountConsole: true });
}

/** An empty 0666 file at /dev/console (unless something is there) with the slave bound on it. */
function bindConsole(slavePath: string): void {
  try {
    closeSync(openSync('/dev/console', O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o666));
    chmodSync('/dev/console', 0o666); // the open's mode went through the umask
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  mountFs(slavePath, '/dev/console', 'bind', MS.BIND);
}

/**
 * The slave belongs to whoever opened it (root here): give it to the process
 * user so it can use its terminal. Not possible for ids unmapped in a user
 * namespace or on a read-only bind; runc goes on without it then.
 */
function chownSlave(fd: number, uid: number): void {
  try {
    chownFd(fd, uid, -1);
  } catch (err) {
    const errno = err instanceof SyscallError ? err.errno : 0;
    if (errno !== constants.errno.EINVAL && errno !== constants.errno.EPERM && errno !== constants.errno.EROFS) throw err;
  }
}
