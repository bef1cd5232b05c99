// The resctrl tree as tsrun uses it: make and remove group directories,
// read and write their files. One interface, so the group logic runs on a
// fake tree in a temp dir in the unit tests (this project's hosts have no
// RDT hardware); `kernelTree` is the real filesystem.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyscallError, syscallErrorOn } from '../errors';

export interface ResctrlTree {
  /** The mount point: every path below is under it. */
  readonly root: string;
  exists(path: string): boolean;
  /** Names in a directory ([] when it is missing). */
  list(path: string): string[];
  mkdir(path: string): void;
  rmdir(path: string): void;
  read(path: string): string;
  /** One write(2) of `text`, as the kernel parses a resctrl file per write. */
  write(path: string, text: string): void;
}

export function kernelTree(root: string): ResctrlTree {
  return {
    root,
    exists: (path) => existsSync(path),
    list: (path) => (existsSync(path) ? readdirSync(path) : []),
    mkdir: (path) => resctrlCall(root, path, () => mkdirSync(path, { mode: 0o755 })),
    rmdir: (path) => resctrlCall(root, path, () => rmdirSync(path)),
    read: (path) => resctrlCall(root, path, () => readFileSync(path, 'utf8')),
    write: (path, text) => resctrlCall(root, path, () => writeFileSync(path, text)),
  };
}

/**
 * A failed call on a resctrl file as a SyscallError on its path; the
 * kernel explains a refused write only in info/last_cmd_status, so that is
 * added to the message when it says something.
 */
export function resctrlCall<T>(root: string, path: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    const e = syscallErrorOn(err, path);
    if (!(e instanceof SyscallError)) throw e;
    const status = lastCmdStatus(root);
    throw status ? new SyscallError(e.call, `${e.errnoName} (last_cmd_status: ${status})`, e.errno, e.subject) : e;
  }
}

function lastCmdStatus(root: string): string {
  try {
    const text = readFileSync(join(root, 'info', 'last_cmd_status'), 'utf8').trim();
    return text === 'ok' ? '' : text;
  } catch {
    return '';
  }
}
