import { print } from '../output';
import type { CommandSpec } from '../command';

export const psCommand: CommandSpec = {
  name: 'ps',
  positional: '<container-id> [ps options]',
  describe: 'list the processes of a container (json: an array of host pids)',
  arity: [1, -1],
  // As runc: everything from the container id on is ours to pass on, so
  // `ps <id> -o pid,comm` gives -o to ps rather than refusing it as a flag.
  haltAfterPositionals: 0,
  options: {
    format: { type: 'string', alias: 'f', describe: 'output format', choices: ['table', 'json'], default: 'table' },
  },
  async run(args, globals) {
    const { containerPids } = await import('../../lifecycle/cgroup-ops');
    const pids = containerPids(globals.root, args._[0]);
    if (args.format === 'json') {
      print(JSON.stringify(pids) + '\n');
      return;
    }
    // Loaded here: child_process brings net, dgram and stream, which no other verb needs.
    const { execFileSync } = await import('node:child_process');
    print(filterPsTable(execFileSync('ps', args._.length > 1 ? args._.slice(1) : ['-ef'], { encoding: 'utf8' }), pids));
  },
};

/** Keeps ps's header and the lines whose PID column is one of `pids`. */
function filterPsTable(table: string, pids: number[]): string {
  const [header, ...lines] = table.split('\n');
  const pidColumn = header.trim().split(/\s+/).indexOf('PID');
  if (pidColumn < 0) throw new Error('ps output has no PID column');
  const wanted = new Set(pids);
  const kept = lines.filter((line) => wanted.has(Number(line.trim().split(/\s+/)[pidColumn])));
  return [header, ...kept].join('\n') + '\n';
}
