// Seccomp: libseccomp (through koffi) turns rules into a classic BPF program
// in the parent; the container's init loads that program with the raw
// seccomp(2) call. libseccomp is never asked to load anything itself, so its
// load-time attributes (TSYNC, LOG, SSB, NNP) do not matter except NNP, which
// is cleared anyway; the filter flags go straight to seccomp(2) instead.
import { fstatSync, readSync } from 'node:fs';
import { check, koffi, libc, rawSyscall, syscallError, syscallNumber } from './libc';
import { errnoName } from './errno';
import { closeFd } from './fd';
import { SyscallError } from '../errors';
import { NativeMemory } from './native-memory';

// Action values from <seccomp.h>; ERRNO and TRACE carry 16 bits of data.
export const SCMP_ACT_KILL_PROCESS = 0x80000000;
export const SCMP_ACT_KILL_THREAD = 0x00000000;
export const SCMP_ACT_TRAP = 0x00030000;
export const SCMP_ACT_NOTIFY = 0x7fc00000;
export const SCMP_ACT_LOG = 0x7ffc0000;
export const SCMP_ACT_ALLOW = 0x7fff0000;
export const scmpActErrno = (errno: number): number => (0x00050000 | (errno & 0xffff)) >>> 0;
export const scmpActTrace = (msg: number): number => (0x7ff00000 | (msg & 0xffff)) >>> 0;

/** enum scmp_compare. */
export const SCMP_CMP = { NE: 1, LT: 2, LE: 3, EQ: 4, GE: 5, GT: 6, MASKED_EQ: 7 } as const;

/** SECCOMP_FILTER_FLAG_* of <linux/seccomp.h>. */
export const FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

// enum scmp_filter_attr
const SCMP_FLTATR_CTL_NNP = 3;
const SCMP_FLTATR_CTL_OPTIMIZE = 8;

const SECCOMP_SET_MODE_FILTER = 1;
/** BPF_MAXINSNS: the kernel refuses longer classic programs. */
export const MAX_INSTRUCTIONS = 4096;
/** struct sock_filter: u16 code, u8 jt, u8 jf, u32 k. */
export const INSTRUCTION_BYTES = 8;
/** struct scmp_arg_cmp: unsigned int arg, enum op, uint64 datum_a, uint64 datum_b. */
const ARG_CMP_BYTES = 24;
/** libseccomp's __NR_SCMP_ERROR: the name is not a syscall on any architecture it knows. */
const NR_SCMP_ERROR = -1;

interface Libseccomp {
  init: (action: number) => unknown;
  release: (ctx: unknown) => void;
  archAdd: (ctx: unknown, arch: number) => number;
  archResolve: (name: string) => number;
  syscallResolve: (name: string) => number;
  ruleAdd: (ctx: unknown, action: number, syscall: number, count: number, args: Buffer | null) => number;
  attrSet: (ctx: unknown, attr: number, value: number) => number;
  exportBpf: (ctx: unknown, fd: number) => number;
}

let lib: Libseccomp | null = null;

/** Loaded on first use, so a host without libseccomp only fails configs that ask for seccomp. */
function seccompLib(): Libseccomp {
  if (lib) return lib;
  let so: ReturnType<typeof koffi.load>;
  try {
    so = koffi.load('libseccomp.so.2');
  } catch (err) {
    throw new Error(`seccomp needs libseccomp.so.2: ${(err as Error).message}`);
  }
  lib = {
    init: so.func('void *seccomp_init(uint32_t def_action)'),
    release: so.func('void seccomp_release(void *ctx)'),
    archAdd: so.func('int seccomp_arch_add(void *ctx, uint32_t arch_token)'),
    archResolve: so.func('uint32_t seccomp_arch_resolve_name(const char *name)'),
    syscallResolve: so.func('int seccomp_syscall_resolve_name(const char *name)'),
    ruleAdd: so.func('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int arg_cnt, const uint8_t *arg_array)'),
    attrSet: so.func('int seccomp_attr_set(void *ctx, int attr, uint32_t value)'),
    exportBpf: so.func('int seccomp_export_bpf(void *ctx, int fd)'),
  };
  return lib;
}

const memfdCreate = libc.func('int memfd_create(const char *name, unsigned int flags)');
const MFD_CLOEXEC = 1;

/** libseccomp returns -errno. */
function checkScmp(ret: number, call: string, subject?: string): void {
  if (ret < 0) throw new SyscallError(call, errnoName(-ret), -ret, subject);
}

/** The libseccomp token of an architecture ("x86_64", "aarch64"), or null when it has none. */
export function resolveArchitecture(name: string): number | null {
  const token = seccompLib().archResolve(name);
  return token === 0 ? null : token;
}

/**
 * The syscall's number on this machine's architecture; a negative pseudo
 * number for one that only exists on other architectures; null when the name
 * is unknown to libseccomp.
 */
export function resolveSyscall(name: string): number | null {
  const nr = seccompLib().syscallResolve(name);
  return nr === NR_SCMP_ERROR ? null : nr;
}

export interface ArgComparison {
  index: number;
  op: number;
  datumA: bigint;
  datumB: bigint;
}

/** A libseccomp filter under construction; release() it when done. */
export class SeccompFilter {
  private ctx: unknown;

  constructor(defaultAction: number) {
    const ctx: unknown = seccompLib().init(defaultAction);
    if (ctx === null) throw new SyscallError('seccomp_init', 'EINVAL', 22, `default action 0x${defaultAction.toString(16)}`);
    this.ctx = ctx;
    try {
      // Only matters to seccomp_load, which is never called; cleared so that
      // nothing here ever sets no_new_privs behind the config's back.
      checkScmp(seccompLib().attrSet(ctx, SCMP_FLTATR_CTL_NNP, 0), 'seccomp_attr_set', 'SCMP_FLTATR_CTL_NNP');
    } catch (err) {
      this.release();
      throw err;
    }
  }

  /** Adds an architecture; the native one is there from the start. */
  addArchitecture(token: number, name: string): void {
    const ret = seccompLib().archAdd(this.ctx, token);
    if (ret !== -17 /* EEXIST: already there */) checkScmp(ret, 'seccomp_arch_add', name);
  }

  /** A binary tree of syscalls instead of a list: shorter paths for long profiles. */
  optimize(): void {
    checkScmp(seccompLib().attrSet(this.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), 'seccomp_attr_set', 'SCMP_FLTATR_CTL_OPTIMIZE');
  }

  addRule(syscall: number, action: number, args: ArgComparison[], name: string): void {
    let array: Buffer | null = null;
    if (args.length > 0) {
      array = Buffer.alloc(ARG_CMP_BYTES * args.length);
      args.forEach((a, i) => {
        const at = i * ARG_CMP_BYTES;
        array!.writeUInt32LE(a.index, at);
        array!.writeUInt32LE(a.op, at + 4);
        array!.writeBigUInt64LE(BigInt.asUintN(64, a.datumA), at + 8);
        array!.writeBigUInt64LE(BigInt.asUintN(64, a.datumB), at + 16);
      });
    }
    checkScmp(seccompLib().ruleAdd(this.ctx, action, syscall, args.length, array), 'seccomp_rule_add_array', name);
  }

  /** The classic BPF program, exported into a memfd and read back. */
  exportProgram(): Buffer {
    const fd = check(memfdCreate('tsrun-seccomp', MFD_CLOEXEC) as number, 'memfd_create');
    try {
      checkScmp(seccompLib().exportBpf(this.ctx, fd), 'seccomp_export_bpf');
      const size = fstatSync(fd).size;
      const program = Buffer.alloc(size);
      let done = 0;
      while (done < size) {
        const n = readSync(fd, program, done, size - done, done);
        if (n === 0) break;
        done += n;
      }
      return program.subarray(0, done);
    } finally {
      closeFd(fd);
    }
  }

  release(): void {
    if (this.ctx !== null) seccompLib().release(this.ctx);
    this.ctx = null;
  }
}

function seccompCall(flags: number, fprog: Buffer | null): number {
  return rawSyscall(syscallNumber('seccomp'), 'unsigned int', SECCOMP_SET_MODE_FILTER, 'unsigned int', flags, 'void *', fprog) as number;
}

/**
 * True when the kernel knows the filter flag(s): with a NULL program it
 * answers EFAULT after checking the flags, EINVAL when it does not know one.
 */
export function kernelHasFilterFlags(flags: number): boolean {
  return seccompCall(flags, null) < 0 && koffi.errno() === 14 /* EFAULT */;
}

/**
 * Installs a classic BPF program on the calling thread (seccomp(2),
 * SECCOMP_SET_MODE_FILTER). Returns the notification listener fd when
 * `flags` has NEW_LISTENER, else 0. Needs no_new_privs or CAP_SYS_ADMIN.
 */
export function loadFilter(program: Buffer, flags: number): number {
  const filter = NativeMemory.from(program);
  try {
    // struct sock_fprog: unsigned short len, 6 bytes of padding, then the pointer.
    const fprog = Buffer.alloc(16);
    fprog.writeUInt16LE(program.length / INSTRUCTION_BYTES, 0);
    fprog.writeBigUInt64LE(filter.address, 8);
    const ret = seccompCall(flags, fprog);
    if (ret < 0) throw syscallError('seccomp', `SECCOMP_SET_MODE_FILTER, flags 0x${flags.toString(16)}`);
    return ret;
  } finally {
    filter.free();
  }
}
