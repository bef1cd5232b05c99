// errno names and numbers, from node's own table (os.constants.errno). Only
// an error needs them, so node:os is loaded at the first one: loading it
// costs ~0.6 ms, which start, delete and kill would otherwise pay at every
// call for nothing.
import type { constants as OsConstants } from 'node:os';

let numbers: typeof OsConstants.errno | undefined;
let names: Map<number, string> | undefined;

function errnoNumbers(): Record<string, number> {
  return (numbers ??= (require('node:os') as typeof import('node:os')).constants.errno);
}

/** `ENOENT` for 2; `errno N` for a number node has no name for. */
export function errnoName(errno: number): string {
  if (names === undefined) {
    names = new Map();
    // Where two names share a number (EAGAIN, EWOULDBLOCK), the first is the one shown.
    for (const [name, value] of Object.entries(errnoNumbers())) if (!names.has(value)) names.set(value, name);
  }
  return names.get(errno) ?? `errno ${errno}`;
}

/** 2 for `ENOENT`; 0 for a code that is no errno name. */
export function errnoNumber(name: string): number {
  return errnoNumbers()[name] ?? 0;
}
