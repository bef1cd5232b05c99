import { readFileSync } from 'node:fs';
import type { CommandSpec, ParsedArgs } from '../command';
import type { LinuxResources } from '../../spec/types';
import { UserError } from '../../errors';
import { parseBytes, parseInteger } from '../units';
import type { SchemataUpdate } from '../../lifecycle/cgroup-ops';

type Setter = (r: LinuxResources, value: string, flag: string) => void;

const memory = (key: 'limit' | 'reservation' | 'swap' | 'kernel' | 'kernelTCP'): Setter => (r, v, f) => {
  r.memory = { ...r.memory, [key]: parseBytes(v, f) };
};
const cpuNumber = (key: 'shares' | 'quota' | 'period' | 'burst' | 'realtimePeriod' | 'realtimeRuntime'): Setter => (r, v, f) => {
  r.cpu = { ...r.cpu, [key]: parseInteger(v, f) };
};
const cpuString = (key: 'cpus' | 'mems'): Setter => (r, v) => {
  r.cpu = { ...r.cpu, [key]: v };
};

/** runc's individual update flags and the resource each sets. */
const FLAGS: Record<string, [describe: string, set: Setter]> = {
  memory: ['memory limit (bytes, or with k/m/g suffix)', memory('limit')],
  'memory-reservation': ['memory soft limit', memory('reservation')],
  'memory-swap': ['total memory plus swap limit; -1 for unlimited', memory('swap')],
  'kernel-memory': ['kernel memory limit (deprecated by the kernel)', memory('kernel')],
  'kernel-memory-tcp': ['kernel TCP buffer memory limit', memory('kernelTCP')],
  'cpu-shares': ['CPU shares (relative weight)', cpuNumber('shares')],
  'cpu-share': ['alias of --cpu-shares', cpuNumber('shares')],
  'cpu-quota': ['CPU CFS quota in microseconds per period', cpuNumber('quota')],
  'cpu-period': ['CPU CFS period in microseconds', cpuNumber('period')],
  'cpu-burst': ['CPU CFS burst in microseconds', cpuNumber('burst')],
  'cpu-rt-period': ['realtime period in microseconds', cpuNumber('realtimePeriod')],
  'cpu-rt-runtime': ['realtime runtime in microseconds', cpuNumber('realtimeRuntime')],
  'cpuset-cpus': ['CPUs allowed (e.g. 0-3,5)', cpuString('cpus')],
  'cpuset-mems': ['memory nodes allowed (e.g. 0-1)', cpuString('mems')],
  'pids-limit': ['maximum number of processes; -1 for unlimited', (r, v, f) => (r.pids = { limit: parseInteger(v, f) })],
  'blkio-weight': ['block IO weight (10-1000)', (r, v, f) => (r.blockIO = { ...r.blockIO, weight: parseInteger(v, f) })],
};

export const updateCommand: CommandSpec = {
  name: 'update',
  positional: '<container-id>',
  describe: 'change the resource limits of a running container',
  arity: [1, 1],
  options: {
    resources: { type: 'string', alias: 'r', describe: 'file with a LinuxResources JSON object, or - for stdin' },
    ...Object.fromEntries(Object.entries(FLAGS).map(([name, [describe]]) => [name, { type: 'string' as const, describe }])),
    'l3-cache-schema': { type: 'string', describe: 'Intel RDT/CAT L3 cache schema line (e.g. "L3:0=ff"), written to the container\'s resctrl group' },
    'mem-bw-schema': { type: 'string', describe: 'Intel RDT/MBA memory bandwidth schema line (e.g. "MB:0=50")' },
  },
  async run(args, globals) {
    const rdt = schemataFrom(args);
    const resources = resourcesFrom(args, rdt !== undefined);
    const { updateContainer } = await import('../../lifecycle/cgroup-ops');
    await updateContainer(globals.root, args._[0], resources, rdt);
  },
};

/** runc's --l3-cache-schema and --mem-bw-schema; undefined when neither is given. */
function schemataFrom(args: ParsedArgs): SchemataUpdate | undefined {
  const update: SchemataUpdate = {};
  if (args.l3CacheSchema !== undefined) update.l3CacheSchema = String(args.l3CacheSchema);
  if (args.memBwSchema !== undefined) update.memBwSchema = String(args.memBwSchema);
  for (const [flag, value] of [['--l3-cache-schema', update.l3CacheSchema], ['--mem-bw-schema', update.memBwSchema]] as const) {
    if (value !== undefined && (value.trim() === '' || value.includes('\n'))) throw new UserError(`${flag}: must be one non-empty schemata line`);
  }
  if (update.memBwSchema !== undefined && !update.memBwSchema.startsWith('MB:')) throw new UserError('--mem-bw-schema: must start with "MB:"');
  return Object.keys(update).length > 0 ? update : undefined;
}

function resourcesFrom(args: ParsedArgs, hasSchemata: boolean): LinuxResources {
  let resources: LinuxResources = {};
  if (args.resources !== undefined) {
    const source = String(args.resources);
    const text = source === '-' ? readFileSync(0, 'utf8') : readFileSync(source, 'utf8');
    try {
      resources = JSON.parse(text) as LinuxResources;
    } catch (err) {
      throw new UserError(`--resources ${source}: invalid JSON: ${(err as Error).message.split('\n')[0]}`);
    }
    if (typeof resources !== 'object' || resources === null || Array.isArray(resources)) {
      throw new UserError(`--resources ${source}: must be a JSON object (LinuxResources)`);
    }
  }
  for (const [flag, [, set]] of Object.entries(FLAGS)) {
    const value = args[flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (value !== undefined) set(resources, String(value), flag);
  }
  if (Object.keys(resources).length === 0 && !hasSchemata) throw new UserError('update: nothing to change (give --resources or a flag such as --memory)');
  return resources;
}
