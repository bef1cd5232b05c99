// Sending signals through Node's own kill(2) binding: the commands that only
// signal (kill, delete, state) then never pay for loading koffi.
import { SyscallError } from '../errors';
import { errnoNumber } from './errno';

/** kill(2); returns false when the process does not exist (ESRCH). */
export function sendSignal(pid: number, signal: number): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EINVAL';
    if (code === 'ESRCH') return false;
    throw new SyscallError('kill', code, errnoNumber(code), `pid ${pid} signal ${signal}`);
  }
}
