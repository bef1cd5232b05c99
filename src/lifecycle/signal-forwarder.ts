// Foreground commands (run, exec) pass the signals tsrun receives on to the
// process they wait for. Listening starts before that process exists: a
// signal arriving in between would otherwise kill tsrun and orphan it. Until
// the target is known signals are kept, then forwarded in order (as runc does).
import { constants } from 'node:os';
import { sendSignal } from '../linux/signals';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

export class SignalForwarder {
  private pid = 0;
  private readonly pending: number[] = [];
  private readonly handlers = FORWARDED.map((name) => {
    const handler = (): void => this.forward(constants.signals[name]);
    process.on(name, handler);
    return [name, handler] as const;
  });

  target(pid: number): void {
    this.pid = pid;
    for (const signal of this.pending.splice(0)) sendSignal(pid, signal);
  }

  /** Stops forwarding `name` (a terminal relay passes SIGWINCH on as a resize instead). */
  ignore(name: NodeJS.Signals): void {
    for (const [n, handler] of this.handlers) if (n === name) process.off(n, handler);
  }

  /** Idempotent. */
  stop(): void {
    for (const [name, handler] of this.handlers) process.off(name, handler);
  }

  private forward(signal: number): void {
    if (this.pid > 0) sendSignal(this.pid, signal);
    else this.pending.push(signal);
  }
}
