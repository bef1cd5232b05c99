// TERMINAL HOOK for `tsrun exec --tty`: the one place where an exec'd
// process gets a pty. The parent calls prepareExecTerminal() before forking
// and releaseExecTerminal() after; the exec'd process calls
// attachExecTerminal() once it is inside the container's root (its
// /dev/ptmx is the container's devpts). Until terminal support is wired in
// here, a terminal is refused before anything is forked.
import type { Process } from '../spec/types';
import { UserError } from '../errors';
import { closeFd } from '../linux/fd';

/** What the exec'd process needs to set its terminal up: the socket the pty master goes to. */
export interface ExecTerminal {
  socketFd: number;
  /** For error messages ("console socket /x.sock"). */
  describe: string;
}

/** In the parent, before forking; undefined when the process has no terminal. */
export function prepareExecTerminal(proc: Process, consoleSocket: string | undefined, detach: boolean): ExecTerminal | undefined {
  if (!proc.terminal) {
    if (consoleSocket) throw new UserError('cannot use console socket if tsrun will not detach or allocate tty');
    return undefined;
  }
  void detach;
  throw new UserError('exec --tty: terminals are not supported yet');
}

/** In the parent, once the children have their copies. */
export function releaseExecTerminal(terminal: ExecTerminal | undefined): void {
  if (terminal) closeFd(terminal.socketFd);
}

/** In the exec'd process, inside the container's root, before the user switch. */
export function attachExecTerminal(terminal: ExecTerminal | undefined, proc: Process): void {
  if (!terminal) return;
  void proc;
  throw new Error('exec --tty: terminals are not supported yet');
}
