// Running one OCI hook: the program at `path` with `args` and `env`, the
// container state JSON on its stdin, killed after `timeout` seconds. The hook
// leads a process group of its own, so a timeout kills what it forked too (a
// shell script's `sleep`), not only the hook.
// Synchronous, built on forkChild + execve, so the container's init (which
// has no event loop) can run hooks the same way the runtime does. The hook's
// stdout and stderr go to an in-memory file (the init may have no writable
// filesystem): nothing reaches the caller's stdio, and the end of it explains
// a failure.
import { fstatSync, readSync } from 'node:fs';
import type { Hook } from '../spec/types';
import { forkChild } from '../linux/fork';
import { closeFd, dupTo, makeMemoryFile, makePipe, writeFd } from '../linux/fd';
import { execProgram, exitNow, newProcessGroup, resetSignals, waitPid, WNOHANG, type WaitResult } from '../linux/proc';
import { sendSignal } from '../linux/signals';
import { closeOnExecFrom } from '../linux/fd';
import { sleepMs } from '../linux/sleep';

export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

export class HookError extends Error {
  constructor(kind: HookKind, index: number, hook: Hook, detail: string) {
    super(`${kind} hook #${index} (${hook.path}) failed: ${detail}`);
    this.name = 'HookError';
  }
}

/** Runs every hook of one kind in order; the first failure throws HookError (the create-time kinds). */
export function runHooks(kind: HookKind, hooks: Hook[] | undefined, state: object): void {
  (hooks ?? []).forEach((hook, index) => runHook(kind, index, hook, JSON.stringify(state)));
}

/**
 * Runs every hook of one kind in order whatever each one does, and returns
 * the failures: poststart and poststop, whose failures the spec makes
 * warnings that stop neither the remaining hooks nor the lifecycle.
 */
export function runAllHooks(kind: HookKind, hooks: Hook[] | undefined, state: object): Error[] {
  const failures: Error[] = [];
  (hooks ?? []).forEach((hook, index) => {
    try {
      runHook(kind, index, hook, JSON.stringify(state));
    } catch (err) {
      failures.push(err instanceof HookError ? err : new HookError(kind, index, hook, (err as Error).message));
    }
  });
  return failures;
}

function runHook(kind: HookKind, index: number, hook: Hook, stateJson: string): void {
  const outFd = makeMemoryFile(`tsrun-hook-${kind}`);
  const stdin = makePipe();
  let result: WaitResult | 'timeout';
  let output: string;
  try {
    const pid = forkChild();
    if (pid === 0) execHook(hook, stdin.read, outFd);
    ownGroupFromParent(pid);
    closeFd(stdin.read);
    try {
      writeFd(stdin.write, stateJson);
    } catch {
      // the hook does not read its stdin: that is its business
    }
    closeFd(stdin.write);
    result = waitWithTimeout(pid, hook.timeout);
    output = lastLine(readWhole(outFd));
  } finally {
    closeFd(outFd);
  }
  if (result === 'timeout') throw new HookError(kind, index, hook, `timed out after ${hook.timeout} s`);
  if (result.signal !== null) throw new HookError(kind, index, hook, `killed by signal ${result.signal}${output}`);
  if (result.exitCode !== 0) throw new HookError(kind, index, hook, `exit status ${result.exitCode}${output}`);
}

/** In the forked child: stdin from the pipe, stdout+stderr to the file, then the hook. */
function execHook(hook: Hook, stdinFd: number, outFd: number): never {
  try {
    dupTo(stdinFd, 0);
    dupTo(outFd, 1);
    dupTo(outFd, 2);
    closeOnExecFrom(3);
    newProcessGroup();
    resetSignals();
    execProgram(hook.path, hook.args ?? [hook.path], hook.env ?? []);
  } catch {
    // fall through: the exit status tells the parent
  }
  return exitNow(127);
}

function waitWithTimeout(pid: number, timeoutSeconds: number | undefined): WaitResult | 'timeout' {
  const deadline = timeoutSeconds ? Date.now() + timeoutSeconds * 1000 : Infinity;
  for (let delay = 1; ; delay = Math.min(delay * 2, 10)) {
    const result = waitPid(pid, WNOHANG);
    if (result) return result;
    if (Date.now() >= deadline) {
      killGroup(pid);
      waitPid(pid);
      return 'timeout';
    }
    sleepMs(delay);
  }
}

/**
 * The parent sets the hook's group too (both sides do, so the group exists
 * whichever runs first); it fails harmlessly once the hook has exec'd.
 */
function ownGroupFromParent(pid: number): void {
  try {
    newProcessGroup(pid);
  } catch {
    // EACCES after the exec: the child made its group itself
  }
}

/** SIGKILL to the hook's process group (everything it forked that stayed there), or to the hook alone. */
function killGroup(pid: number): void {
  try {
    if (sendSignal(-pid, 9)) return;
  } catch {
    // no such group (EPERM in odd cases): fall back to the hook itself
  }
  sendSignal(pid, 9);
}

function readWhole(fd: number): string {
  const size = Math.min(fstatSync(fd).size, 1 << 20);
  const buf = Buffer.alloc(size);
  const n = size > 0 ? readSync(fd, buf, 0, size, 0) : 0;
  return buf.subarray(0, n).toString('utf8');
}

function lastLine(output: string): string {
  const line = output.trim().split('\n').pop()?.trim();
  return line ? `: ${line}` : '';
}
