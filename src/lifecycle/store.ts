// Where containers' state lives: <root>/<id>/state.json, replaced atomically,
// with one lock per id (<root>/<id>.lock, lock.ts) so that commands on the
// same id run one at a time while commands on different ids run in parallel.
import type { IntelRdtState } from '../resctrl/group';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, syscallErrorOn } from '../errors';
import { validateId } from './ids';
import { stateRootHint } from './rootless';
import type { CgroupState } from '../cgroups/types';
import type { Hooks } from '../spec/types';

export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /** The init's pid in the runtime's pid namespace. */
  pid: number;
  /** Field 22 of /proc/<pid>/stat when the init was made: tells a reused pid apart. */
  initStartTime: number;
  /**
   * True from the init's fork until create's last write: the init is not
   * known to be ready. Left true by a create that was killed (status
   * `creating` while the init lives). Absent once created.
   */
  creating?: boolean;
  bundle: string;
  rootfs: string;
  /** RFC 3339. */
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** The container has a pid namespace of its own (so its processes die with init). */
  privatePidNamespace: boolean;
  /** Its mounts were made in the runtime's mount namespace, under the rootfs: delete unmounts them. */
  mountsOnHost: boolean;
  /** Where its cgroup is (absent in states written before cgroups existed). */
  cgroup?: CgroupState;
  /** Its resctrl group (linux.intelRdt): joined by exec, written by update, removed by delete. */
  intelRdt?: IntelRdtState;
  /** The hooks run after create: kept here, as the bundle may change or go. */
  hooks?: Pick<Hooks, 'poststart' | 'poststop'>;
}

/** The exec fifo's name in a container's state directory. */
export const EXEC_FIFO_NAME = 'exec.fifo';

/**
 * A state root that is there must be a directory: a regular file (or a path
 * through one) would make `list` print nothing and `create` say EEXIST.
 * One that is not there yet is fine (create makes it).
 */
export function checkStateRoot(root: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(root).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new UserError(`state root ${root}: stat: ${code ?? (err as Error).message}`);
  }
  if (!isDir) throw new UserError(`state root ${root}: not a directory`);
}

/** Makes the state root (0711: the containers' roots may need to reach their exec fifos). */
export function ensureStateRoot(root: string): void {
  try {
    mkdirSync(root, { recursive: true, mode: 0o711 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(`state root ${root}: mkdir ${e.path ?? root}: ${e.code ?? e.message}${stateRootHint(root)}`);
  }
}

/** The file whose record lock is container `id`'s lock (lock.ts), beside its directory. */
export function lockFilePath(root: string, id: string): string {
  return join(root, `${validateId(id)}.lock`);
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, validateId(id));
  }

  exists(id: string): boolean {
    return existsSync(join(this.dir(id), 'state.json'));
  }

  /** True when anything of `id` is under the root: its directory, or a lock file a killed command left. */
  hasTraces(id: string): boolean {
    return existsSync(this.dir(id)) || existsSync(lockFilePath(this.root, id));
  }

  /**
   * Makes the container's directory (the lock held around it made the
   * root); fails when the id is taken. A directory without state.json is
   * what a create killed between its claim and its first write left (the
   * lock the caller holds rules out one still running): it is taken over.
   */
  claim(id: string): string {
    const dir = this.dir(id);
    if (!this.exists(id)) this.remove(id);
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UserError(`container with id exists: ${id}`);
      throw err;
    }
    return dir;
  }

  read(id: string): ContainerRecord {
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), 'state.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`container "${id}" does not exist`);
      throw err;
    }
    return JSON.parse(text) as ContainerRecord;
  }

  write(record: ContainerRecord): void {
    const dir = this.dir(record.id);
    replaceFile(join(dir, `.state.json.${process.pid}`), join(dir, 'state.json'), JSON.stringify(record), 0o600);
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** Ids of every container with a state file, sorted. */
  ids(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return [];
    }
    return names.filter((n) => !n.endsWith('.lock') && existsSync(join(this.root, n, 'state.json'))).sort();
  }
}

/** Writes `content` to `path` through a temporary file and a rename. */
export function writeFileAtomic(path: string, content: string): void {
  replaceFile(`${path}.tmp-${process.pid}`, path, content, 0o644);
}

/**
 * `content` into `tmp`, renamed to `path`. A failure (ENOSPC on a full
 * state root, say) names the file it was for and leaves no temporary file.
 */
function replaceFile(tmp: string, path: string, content: string, mode: number): void {
  try {
    writeFileSync(tmp, content, { mode });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw syscallErrorOn(err, path);
  }
}
