// Ending a tsrun process once its command is done.
import { libcLoaded } from './libc';
import { exitNow } from './proc';

/** Node's lists of what keeps its event loop alive: handles (their owner objects) and requests in flight. */
interface LoopInternals {
  _getActiveHandles(): unknown[];
  _getActiveRequests(): unknown[];
}

/**
 * True when nothing but stdout and stderr holds the event loop and neither
 * has output waiting. A std stream on a pipe keeps a handle open once
 * written to, though its writes are synchronous on Linux; a write that
 * could not complete at once is a request in flight. Timers are in neither
 * list, only in the count of everything active.
 */
function nothingLeftToRun(): boolean {
  const loop = process as unknown as LoopInternals;
  if (loop._getActiveRequests().length > 0) return false;
  const handles = loop._getActiveHandles();
  if (process.getActiveResourcesInfo().length > handles.length) return false;
  if (handles.length === 0) return true;
  const std: unknown[] = [process.stdout, process.stderr];
  return handles.every((h) => std.includes(h)) && process.stdout.writableLength === 0 && process.stderr.writableLength === 0;
}

/** Node writes a profile or coverage at its own exit (--cpu-prof, --heap-prof, NODE_V8_COVERAGE); _exit would lose it. */
function writesAtExit(): boolean {
  return process.env.NODE_V8_COVERAGE !== undefined || process.execArgv.some((arg) => /^--(cpu|heap)-prof/.test(arg));
}

/**
 * Node's own exit frees the environment and tears down the V8 heap, which
 * cost 5-7 ms at the end of every `run` and `create` (a snapshot's heap is
 * large) and is spent three times per container. When nothing is left to
 * run, no exit listener waits and node writes nothing at exit, _exit ends
 * the process at once with the same status. Only where libc is already
 * loaded: loading it for this would cost more than it saves (`state`,
 * `list`).
 */
export function exitNowIfIdle(code: number): void {
  if (!libcLoaded() || process.listenerCount('exit') > 0 || writesAtExit() || !nothingLeftToRun()) return;
  exitNow(code);
}
