// TERMINAL HOOK for `tsrun exec --tty`: the one place where an exec'd
// process gets a pty (setup/terminal.ts does the work, as for the container init).
// The parent calls prepareExecTerminal() before forking and
// releaseExecTerminal() after; the exec'd process calls attachExecTerminal()
// once it is inside the container's root (its /dev/ptmx is the container's
// devpts). The master goes to --console-socket (detached: containerd's shim,
// conmon) or, in the foreground, to the socketpair tsrun relays from.
import type { Process } from '../../spec/types';
import { closeFd } from '../../linux/fd';
import { newSession } from '../../linux/proc';
import { checkConsoleSocket, connectConsoleSocket, setupTerminal } from '../setup/terminal';
import type { ExecTerminal } from '../plan/exec-plan';

/**
 * In the parent, before forking; undefined when the process has no
 * terminal. `relayFd` is the foreground relay's end for the process.
 */
export function prepareExecTerminal(proc: Process, consoleSocket: string | undefined, detach: boolean, relayFd?: number): ExecTerminal | undefined {
  checkConsoleSocket(proc.terminal === true, consoleSocket, detach);
  if (!proc.terminal) return undefined;
  if (consoleSocket === undefined && relayFd !== undefined) return { socketFd: relayFd, describe: 'tsrun exec', owned: false };
  // Connected here: the host path may not be visible from inside the container.
  return { socketFd: connectConsoleSocket(consoleSocket as string), describe: `console socket ${consoleSocket}`, owned: true };
}

/** In the parent, once the children have their copies. */
export function releaseExecTerminal(terminal: ExecTerminal | undefined): void {
  if (terminal?.owned) closeFd(terminal.socketFd);
}

/**
 * In the exec'd process, inside the container's root, before the user
 * switch (the slave is given to the process user). Only a terminal makes it
 * a session leader: without one it stays in the caller's session, as runc's.
 */
export function attachExecTerminal(terminal: ExecTerminal | undefined, proc: Process): void {
  if (!terminal) return;
  newSession();
  setupTerminal({ socketFd: terminal.socketFd, describe: terminal.describe, uid: proc.user?.uid ?? 0, consoleSize: proc.consoleSize, mountConsole: false });
}
