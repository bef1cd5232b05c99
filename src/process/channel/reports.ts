// Errors cross the pipe from a forked child (stage 1, the init, the exec'd
// process) to the parent as data, not as text: which step failed, and the
// error as the child had it (a syscall's call, errno name and subject; a
// config error's JSON pointer). The parent rebuilds the typed error and
// renders it once (ChildError).
import { ChildError, ConfigError, SyscallError, UserError } from '../../errors';

export interface ErrorReport {
  kind: 'syscall' | 'config' | 'user' | 'other';
  message: string;
  /** The named step that failed (setup/steps.ts), when the failure was in one. */
  step?: string;
  call?: string;
  errnoName?: string;
  errno?: number;
  subject?: string;
  file?: string;
  pointer?: string;
  detail?: string;
  /** What a config error came from (the mount's SyscallError, say). */
  cause?: ErrorReport;
}

/** A failure inside a named step: the step's name travels with the error. */
export class StepFailure extends Error {
  constructor(
    readonly step: string,
    readonly failure: unknown,
  ) {
    super(`step "${step}": ${failure instanceof Error ? failure.message : String(failure)}`);
    this.name = 'StepFailure';
  }
}

/** In the child: the error as data. */
export function reportOf(err: unknown): ErrorReport {
  if (err instanceof StepFailure) return { ...reportOf(err.failure), step: err.step };
  if (err instanceof SyscallError) {
    return { kind: 'syscall', message: err.message, call: err.call, errnoName: err.errnoName, errno: err.errno, ...(err.subject !== undefined && { subject: err.subject }) };
  }
  if (err instanceof ConfigError) {
    return { kind: 'config', message: err.message, file: err.file, pointer: err.pointer, detail: err.detail, ...(err.cause !== undefined && { cause: reportOf(err.cause) }) };
  }
  if (err instanceof UserError) return { kind: 'user', message: err.message };
  return { kind: 'other', message: err instanceof Error ? err.message : String(err) };
}

/** In the parent: the typed error again, named after the verb and the step. */
export function errorOf(report: ErrorReport, verb: string): ChildError {
  return new ChildError(verb, failureOf(report), report.step);
}

function failureOf(r: ErrorReport): Error {
  if (r.kind === 'syscall' && r.call !== undefined && r.errnoName !== undefined) return new SyscallError(r.call, r.errnoName, r.errno ?? 0, r.subject);
  if (r.kind === 'config' && r.file !== undefined && r.pointer !== undefined && r.detail !== undefined) {
    return new ConfigError(r.file, r.pointer, r.detail, r.cause === undefined ? undefined : { cause: failureOf(r.cause) });
  }
  return r.kind === 'other' ? new Error(r.message) : new UserError(r.message);
}
