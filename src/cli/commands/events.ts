import { print } from '../output';
import type { CommandSpec } from '../command';
import { UserError } from '../../errors';

export const eventsCommand: CommandSpec = {
  name: 'events',
  positional: '<container-id>',
  describe: 'print resource statistics (--stats: once) or stream stats and oom events every --interval',
  arity: [1, 1],
  options: {
    stats: { type: 'boolean', describe: 'print the statistics once and exit' },
    interval: { type: 'string', describe: 'time between stats events, e.g. 5s, 500ms (default 5s)', default: '5s' },
  },
  async run(args, globals) {
    const ops = await import('../../lifecycle/cgroup-ops');
    const id = args._[0];
    if (args.stats) {
      print(JSON.stringify(ops.containerStats(globals.root, id)) + '\n');
      return;
    }
    const intervalMs = parseDuration(String(args.interval));
    let ooms = ops.oomKillCount(globals.root, id);
    for (;;) {
      let stats;
      try {
        stats = ops.containerStats(globals.root, id);
      } catch {
        return; // the container stopped or was deleted: the stream ends
      }
      const now = ops.oomKillCount(globals.root, id);
      if (now > ooms) print(JSON.stringify({ type: 'oom', id }) + '\n');
      ooms = now;
      print(JSON.stringify(stats) + '\n');
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  },
};

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) {
    throw new UserError(`invalid value "${text}" for flag -interval: expected a duration such as 5s or 500ms`);
  }
  const unit = m[2] ?? 's';
  return Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60000);
}
