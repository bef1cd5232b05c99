// Error types shared by every layer. The CLI prints `err.message` as the one
// line the user sees, so every message must name what failed and where.

/** A failure the user caused or can fix: bad flags, bad config, missing container. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** config.json failed schema or semantic validation. `pointer` is a JSON pointer. */
export class ConfigError extends UserError {
  constructor(
    readonly file: string,
    readonly pointer: string,
    readonly detail: string,
  ) {
    super(`${file}: ${pointer || '/'}: ${detail}`);
    this.name = 'ConfigError';
  }
}

/** A failed system call, carrying the call, errno name and the object involved. */
export class SyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errnoName: string,
    readonly errno: number,
    readonly subject?: string,
  ) {
    super(subject === undefined ? `${call}: ${errnoName}` : `${call}(${subject}): ${errnoName}`);
    this.name = 'SyscallError';
  }
}

/**
 * A forked child's failure, rebuilt in the parent from its report
 * (channel/reports.ts): `failure` is the error as the child had it (a
 * SyscallError keeps its call, errno and subject; a ConfigError its
 * pointer), `step` the named step it failed in, when it was in one.
 */
export class ChildError extends UserError {
  constructor(
    readonly verb: string,
    readonly failure: Error,
    readonly step?: string,
  ) {
    super(`${verb}: ${step === undefined ? '' : `step "${step}": `}${failure.message}`);
    this.name = 'ChildError';
  }
}

/** The one way to name a config.json field in an error: its JSON pointer and what is wrong. */
export function configError(pointer: string, detail: string): ConfigError {
  return new ConfigError('config.json', pointer, detail);
}
