import { print } from '../output';
import type { CommandSpec } from '../command';
import type { OciState } from '../../lifecycle/container';

export const listCommand: CommandSpec = {
  name: 'list',
  positional: '',
  describe: 'list containers',
  arity: [0, 0],
  options: {
    format: { type: 'string', alias: 'f', describe: 'output format', choices: ['table', 'json'], default: 'table' },
    quiet: { type: 'boolean', alias: 'q', describe: 'print only the container ids' },
  },
  async run(args, globals) {
    const { listContainers } = await import('../../lifecycle/list');
    const states = listContainers(globals.root);
    if (args.quiet) print(states.map((s) => s.id + '\n').join(''));
    else if (args.format === 'json') print(JSON.stringify(states) + '\n');
    else print(formatTable(states));
  },
};

/** runc's columns; an ADDRESS column (network: address) only when a container is on a CNI network. */
function formatTable(states: OciState[]): string {
  const networked = states.some((s) => s.network !== undefined);
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER', ...(networked ? ['ADDRESS'] : [])]];
  for (const s of states) {
    const address = s.network === undefined ? '-' : `${s.network.name}: ${s.network.ips.join(',')}`;
    rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, s.owner || 'root', ...(networked ? [address] : [])]);
  }
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col] + 3))).join('') + '\n').join('');
}
