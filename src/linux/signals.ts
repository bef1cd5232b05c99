// Sending signals through Node's own kill(2) binding: the commands that only
// signal (kill, delete, state) then never pay for loading koffi.
import { constants } from 'node:os';
import { SyscallError } from '../errors';

/** kill(2); returns false when the process does not exist (ESRCH). */
export function sendSignal(pid: number, signal: number): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EINVAL';
    if (code === 'ESRCH') return false;
    const errno = (constants.errno as Record<string, number>)[code] ?? 0;
    throw new SyscallError('kill', code, errno, `pid ${pid} signal ${signal}`);
  }
}
