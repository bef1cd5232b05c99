import type { CommandSpec, ParsedArgs, GlobalOptions } from '../command';
import type { ExecOptions } from '../../lifecycle/exec';
import type { SubCgroupPaths } from '../../cgroups/sub-cgroup';
import { UserError } from '../../errors';

export const execCommand: CommandSpec = {
  name: 'exec',
  positional: '<container-id> [command [args...]]',
  describe: 'run a new process inside a running container; in the foreground, wait for it and exit with its code',
  arity: [1, -1],
  // Everything after the container id is the command line, flags included.
  haltAfterPositionals: 1,
  options: {
    process: { type: 'string', alias: 'p', describe: 'path to a runtime-spec process.json (instead of a command and flags)' },
    tty: { type: 'boolean', alias: 't', describe: 'allocate a pseudo-TTY' },
    detach: { type: 'boolean', alias: 'd', describe: 'detach from the process once it has started' },
    'pid-file': { type: 'string', describe: 'file to write the process id to' },
    'console-socket': { type: 'string', describe: 'unix socket to receive the pty master (with --tty --detach)' },
    'preserve-fds': { type: 'number', describe: 'pass N additional file descriptors (3..3+N-1) to the process', default: 0 },
    cwd: { type: 'string', describe: 'current working directory in the container' },
    env: { type: 'string', alias: 'e', multiple: true, describe: 'set an environment variable (KEY=VALUE); may be repeated' },
    user: { type: 'string', alias: 'u', describe: 'UID[:GID] to run as' },
    'additional-gids': { type: 'string', alias: 'g', multiple: true, describe: 'additional group id; may be repeated' },
    cap: { type: 'string', alias: 'c', multiple: true, describe: 'add a capability (e.g. CAP_NET_ADMIN); may be repeated' },
    'no-new-privs': { type: 'boolean', describe: 'set no_new_privs for the process' },
    apparmor: { type: 'string', describe: 'AppArmor profile for the process' },
    'process-label': { type: 'string', describe: 'SELinux label for the process' },
    'ignore-paused': { type: 'boolean', describe: 'allow exec in a paused container' },
    cgroup: {
      type: 'string',
      multiple: true,
      describe: 'run the process in an existing sub-cgroup of the container\'s: PATH, or on cgroup v1 CONTROLLER[,CONTROLLER...]:PATH (may be repeated)',
    },
  },
  async run(args, globals) {
    const { execInContainer } = await import('../../lifecycle/exec');
    return execInContainer(execOptionsFrom(args, globals));
  },
};

function list(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function execOptionsFrom(args: ParsedArgs, globals: GlobalOptions): ExecOptions {
  const [id, ...command] = args._;
  return {
    root: globals.root,
    id,
    args: command,
    processFile: args.process as string | undefined,
    tty: args.tty === undefined ? undefined : Boolean(args.tty),
    detach: Boolean(args.detach),
    pidFile: args.pidFile as string | undefined,
    consoleSocket: args.consoleSocket as string | undefined,
    preserveFds: args.preserveFds as number,
    cwd: args.cwd as string | undefined,
    env: list(args.env),
    user: args.user as string | undefined,
    additionalGids: list(args.additionalGids),
    caps: list(args.cap),
    noNewPrivs: args.noNewPrivs === undefined ? undefined : Boolean(args.noNewPrivs),
    apparmor: args.apparmor as string | undefined,
    processLabel: args.processLabel as string | undefined,
    ignorePaused: Boolean(args.ignorePaused),
    subCgroups: parseSubCgroups(list(args.cgroup)),
  };
}

/**
 * --cgroup values, runc's syntax: one PATH for every controller (and v2),
 * or any number of CONTROLLER[,CONTROLLER...]:PATH, each controller once.
 */
export function parseSubCgroups(values: string[]): SubCgroupPaths | undefined {
  if (values.length === 0) return undefined;
  const paths: SubCgroupPaths = {};
  for (const value of values) {
    const colon = value.indexOf(':');
    if (colon < 0) {
      if (values.length !== 1) throw new UserError(`invalid --cgroup argument: ${value} (missing <controller>: prefix; a path alone must be the only --cgroup)`);
      paths[''] = value;
      continue;
    }
    for (const controller of value.slice(0, colon).split(',')) {
      if (controller === '') throw new UserError(`invalid --cgroup argument: ${value} (empty <controller> prefix)`);
      if (controller in paths) throw new UserError(`invalid --cgroup argument(s): controller ${controller} specified multiple times`);
      paths[controller] = value.slice(colon + 1);
    }
  }
  return paths;
}
