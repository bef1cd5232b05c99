// The one place koffi loads libc. Every C declaration in the project lives in
// a file of src/linux/ and is made through `libc.func`.
//
// koffi and libc are loaded on the first call, not when a module declares a
// function: the modules can then be evaluated while the startup snapshot is
// built (native modules cannot be loaded then), and a verb that declares but
// never calls a C function does not load koffi at all.
import type Koffi from 'koffi';
import { dirname, join } from 'node:path';
import { SyscallError } from '../errors';
import { errnoName } from './errno';

/** Set by the startup-snapshot entry: code in a snapshot may only `require` built-ins. */
type GlobalWithRequire = typeof globalThis & { tsrunRequire?: NodeJS.Require };

/**
 * koffi's native module, loaded directly: its index.js also loads crypto,
 * https and zlib for a downloader tsrun never uses (+20 ms at every start).
 * Falls back to the index where the native file is not where koffi's build puts it.
 */
function loadKoffi(): typeof Koffi {
  const load = (globalThis as GlobalWithRequire).tsrunRequire ?? require;
  const base = dirname(load.resolve('koffi/package.json'));
  try {
    return load(join(base, 'build', 'koffi', `${process.platform}_${process.arch}`, 'koffi.node')) as typeof Koffi;
  } catch {
    return load('koffi') as typeof Koffi;
  }
}

type KoffiFunction = ReturnType<ReturnType<typeof Koffi.load>['func']>;

let loadedKoffi: typeof Koffi | undefined;
let loadedLibc: ReturnType<typeof Koffi.load> | undefined;

function realKoffi(): typeof Koffi {
  return (loadedKoffi ??= loadKoffi());
}

function realLibc(): ReturnType<typeof Koffi.load> {
  return (loadedLibc ??= realKoffi().load('libc.so.6'));
}

/** Whether this process has loaded libc through koffi (its first C call). */
export function libcLoaded(): boolean {
  return loadedLibc !== undefined;
}

/** koffi's module object, loaded on first use of any of its members. */
export const koffi = new Proxy({} as typeof Koffi, {
  get: (_target, name) => {
    const value = Reflect.get(realKoffi(), name) as unknown;
    return typeof value === 'function' ? value.bind(loadedKoffi) : value;
  },
});

/**
 * libc as koffi gives it, but `func` declares on the first call. The
 * returned function takes the same arguments (variadic ones included) and
 * keeps `.async`.
 */
export const libc = {
  func(signature: string): KoffiFunction {
    let declared: KoffiFunction | undefined;
    const real = (): KoffiFunction => (declared ??= realLibc().func(signature));
    const call = ((...args: unknown[]) => real()(...args)) as KoffiFunction;
    Object.defineProperty(call, 'async', { value: (...args: unknown[]) => (real().async as (...a: unknown[]) => void)(...args) });
    return call;
  },
};

/** The errno left by the last koffi call on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

export function syscallError(call: string, subject?: string, errno = lastErrno()): SyscallError {
  return new SyscallError(call, errnoName(errno), errno, subject);
}

/** Throws a SyscallError when a libc call returned -1 (or a negative value). */
export function check<T extends number | bigint>(ret: T, call: string, subject?: string): T {
  if (ret < 0) throw syscallError(call, subject);
  return ret;
}

/** Syscall numbers for calls glibc does not wrap, per architecture. */
const SYSCALLS: Record<string, Record<string, number>> = {
  x64: { pivot_root: 155, close_range: 436, pidfd_open: 434, pidfd_send_signal: 424, bpf: 321, ioprio_set: 251, sched_setattr: 314, seccomp: 317, open_tree: 428, move_mount: 429, mount_setattr: 442, set_mempolicy: 238 },
  arm64: { pivot_root: 41, close_range: 436, pidfd_open: 434, pidfd_send_signal: 424, bpf: 280, ioprio_set: 30, sched_setattr: 274, seccomp: 277, open_tree: 428, move_mount: 429, mount_setattr: 442, set_mempolicy: 237 },
};

export function syscallNumber(name: string): number {
  const n = SYSCALLS[process.arch]?.[name];
  if (n === undefined) throw new Error(`no syscall number for ${name} on ${process.arch}`);
  return n;
}

export const rawSyscall = libc.func('long syscall(long number, ...)') as (...args: unknown[]) => number;
