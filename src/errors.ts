// Error types shared by every layer. The CLI prints `err.message` as the one
// line the user sees, so every message must name what failed and where.

/** A failure the user caused or can fix: bad flags, bad config, missing container. */
export class UserError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** config.json failed schema or semantic validation. `pointer` is a JSON pointer. */
export class ConfigError extends UserError {
  constructor(
    readonly file: string,
    readonly pointer: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${pointer || '/'}: ${detail}`, options);
    this.name = 'ConfigError';
  }
}

/**
 * A fault in the bundle's config.json at `pointer`: the one way to build the
 * "config.json: /pointer: detail" message, so that the pointer travels with
 * the error as data, not only as text. `cause` keeps the error behind it (a
 * SyscallError, say) for callers that look at the errno.
 */
export function configError(pointer: string, detail: string, cause?: unknown): ConfigError {
  return new ConfigError('config.json', pointer, detail, cause === undefined ? undefined : { cause });
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

/**
 * The failure of a call on one path, named on `shown` instead. Node's fs
 * message names the path it was handed ("ENOTDIR: not a directory, mkdir
 * '/run/b/rootfs/x/y'") and so does a SyscallError of a libc path call: a
 * host (or /proc/self/fd) path where the user wrote a container path. Both
 * come back as a SyscallError on `shown`; anything else as it was.
 */
export function syscallErrorOn(err: unknown, shown: string): unknown {
  if (err instanceof SyscallError) return new SyscallError(err.call, err.errnoName, err.errno, shown);
  const e = err as Partial<NodeJS.ErrnoException> | null;
  if (typeof e?.code !== 'string' || typeof e.syscall !== 'string') return err;
  return new SyscallError(e.syscall, e.code, Math.abs(e.errno ?? 0), shown);
}

/**
 * Runs `run`, one call on one path, its failure named on `shown` (see
 * syscallErrorOn). Not for mount(2): its subject holds the source too.
 */
export function onPath<T>(shown: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw syscallErrorOn(err, shown);
  }
}
