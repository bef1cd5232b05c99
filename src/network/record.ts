// One file per attached container, `<network dir>/<id>.json`: what `del`
// needs to undo an ADD (the configuration list as it was used, the port
// mappings, the ADD result the plugins want back as prevResult) and what
// `state` and `list` show. It is written before the plugins run, so a
// tsrun killed in the middle of an ADD still leaves `del` something to undo.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CniResult, NetworkConfigList, PortMapping } from './types';

export interface AttachmentRecord {
  id: string;
  bundle: string;
  pid: number;
  /** The init's start time (/proc/PID/stat field 22): a pid reused by another process is not the container's. */
  startTime: number;
  /** The network's name and the file its configuration came from. */
  network: string;
  configFile: string;
  list: NetworkConfigList;
  ifName: string;
  portMappings: PortMapping[];
  /** null until ADD succeeded. */
  result: CniResult | null;
}

/** What `state` and `list` show of a container's network. */
export interface NetworkSummary {
  name: string;
  interfaces: string[];
  ips: string[];
  ports?: string[];
}

export function recordPath(dir: string, id: string): string {
  return join(dir, `${id}.json`);
}

/** The directory of the container's /etc/hosts and /etc/resolv.conf. */
export function filesDir(dir: string, id: string): string {
  return join(dir, id);
}

export function readRecord(dir: string, id: string): AttachmentRecord | null {
  try {
    return JSON.parse(readFileSync(recordPath(dir, id), 'utf8')) as AttachmentRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Written whole or not at all (a reader never sees half a record). */
export function writeRecord(dir: string, record: AttachmentRecord): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = recordPath(dir, record.id);
  writeFileSync(`${path}.tmp`, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function removeRecord(dir: string, id: string): void {
  rmSync(filesDir(dir, id), { recursive: true, force: true });
  rmSync(recordPath(dir, id), { force: true });
}

/** The summary of the container `id` of `bundle`, if it was attached (a record of another root's same id is not its). */
export function networkSummary(dir: string, id: string, bundle: string): NetworkSummary | undefined {
  let record: AttachmentRecord | null;
  try {
    record = readRecord(dir, id);
  } catch {
    return undefined;
  }
  if (record === null || record.bundle !== bundle || record.result === null) return undefined;
  const interfaces = (record.result.interfaces ?? []).filter((i) => i.sandbox !== undefined && i.sandbox !== '').map((i) => i.name);
  const summary: NetworkSummary = { name: record.network, interfaces, ips: (record.result.ips ?? []).map((ip) => ip.address) };
  if (record.portMappings.length > 0) summary.ports = record.portMappings.map((p) => `${p.hostIP ?? ''}${p.hostIP ? ':' : ''}${p.hostPort}->${p.containerPort}/${p.protocol}`);
  return summary;
}
