// bpf(2) for cgroup v2 device filters: load a BPF_PROG_TYPE_CGROUP_DEVICE
// program, attach/detach it on a cgroup directory, list what is attached.
// glibc has no bpf() wrapper, so it goes through syscall(2) with a union
// bpf_attr built by hand; offsets are from include/uapi/linux/bpf.h.
import { koffi, rawSyscall, syscallError, syscallNumber } from './libc';
import { closeFd, openFd, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from './fd';

// enum bpf_cmd
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_PROG_QUERY = 16;

export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
/** Several programs may be attached; all must allow. */
export const BPF_F_ALLOW_MULTI = 2;
/** With ALLOW_MULTI: swap replace_bpf_fd's program for the new one in one step (Linux 5.6+). */
export const BPF_F_REPLACE = 4;

/**
 * The size passed for every command. The kernel accepts any size up to a
 * page as long as bytes it does not know are zero, so one generous size
 * covers old and new kernels.
 */
const ATTR_SIZE = 128;

/** Verifier log buffer for a failed load: ample for the account of any program tsrun makes. */
const LOG_SIZE = 256 * 1024;

/** The kernel caps programs per cgroup and attach type at 64. */
const MAX_PROGS = 64;

function bpf(cmd: number, attr: Buffer): number {
  return rawSyscall(syscallNumber('bpf'), 'int', cmd, 'void *', attr, 'unsigned int', attr.length);
}

/**
 * Memory the kernel reads or writes through a pointer inside bpf_attr. It is
 * allocated by koffi, not taken from a Node Buffer, so its address is a
 * documented, stable value for the whole call.
 */
class NativeBuffer {
  private ptr: unknown;
  readonly address: bigint;
  constructor(readonly size: number) {
    this.ptr = koffi.alloc('uint8_t', size);
    this.address = koffi.address(this.ptr);
    this.bytes().fill(0);
  }
  bytes(): Uint8Array {
    return new Uint8Array(koffi.view(this.ptr, this.size));
  }
  free(): void {
    if (this.ptr !== null) koffi.free(this.ptr);
    this.ptr = null;
  }
}

function withNative<T>(sizes: number[], fn: (bufs: NativeBuffer[]) => T): T {
  const bufs: NativeBuffer[] = [];
  try {
    for (const size of sizes) bufs.push(new NativeBuffer(size));
    return fn(bufs);
  } finally {
    for (const b of bufs) b.free();
  }
}

/**
 * Loads a cgroup device program; returns its fd (close it when done: an
 * attached program stays attached without it). A verifier refusal is retried
 * once with the log on, and the log's end is put in the error.
 */
export function loadCgroupDeviceProgram(insns: Buffer, license: string): number {
  if (insns.length === 0 || insns.length % 8 !== 0) throw new RangeError(`a BPF program is a non-empty multiple of 8 bytes, not ${insns.length}`);
  const licenseBytes = Buffer.from(`${license}\0`);
  return withNative([insns.length, licenseBytes.length, LOG_SIZE], ([code, lic, log]) => {
    code.bytes().set(insns);
    lic.bytes().set(licenseBytes);
    const attempt = (withLog: boolean): number => {
      const attr = Buffer.alloc(ATTR_SIZE);
      attr.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0); // prog_type
      attr.writeUInt32LE(insns.length / 8, 4); // insn_cnt
      attr.writeBigUInt64LE(code.address, 8); // insns
      attr.writeBigUInt64LE(lic.address, 16); // license
      if (withLog) {
        attr.writeUInt32LE(1, 24); // log_level
        attr.writeUInt32LE(log.size, 28); // log_size
        attr.writeBigUInt64LE(log.address, 32); // log_buf
      }
      attr.write('tsrun_devices', 48, 'latin1'); // prog_name (16 bytes, NUL-terminated), shown by bpftool
      return bpf(BPF_PROG_LOAD, attr);
    };
    const fd = attempt(false);
    if (fd >= 0) return fd;
    const first = syscallError('bpf', 'BPF_PROG_LOAD of a cgroup device program');
    // EACCES and EINVAL are what the verifier answers; other errors (EPERM: no
    // CAP_BPF/CAP_SYS_ADMIN) say all there is to say.
    if (first.errnoName !== 'EACCES' && first.errnoName !== 'EINVAL') throw first;
    const again = attempt(true);
    if (again >= 0) return again;
    const err = syscallError('bpf', 'BPF_PROG_LOAD of a cgroup device program');
    const text = Buffer.from(log.bytes()).toString('utf8').replace(/\0[\s\S]*$/, '').trim();
    if (text === '') throw err;
    const tail = text.split('\n').slice(-6).join(' | ');
    throw syscallError('bpf', `BPF_PROG_LOAD of a cgroup device program, verifier: ${tail}`, err.errno);
  });
}

function attachAttr(targetFd: number, progFd: number, flags: number, replaceFd = 0): Buffer {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(targetFd, 0); // target_fd
  attr.writeUInt32LE(progFd, 4); // attach_bpf_fd
  attr.writeUInt32LE(BPF_CGROUP_DEVICE, 8); // attach_type
  attr.writeUInt32LE(flags, 12); // attach_flags
  attr.writeUInt32LE(replaceFd, 16); // replace_bpf_fd
  return attr;
}

/** Attaches with BPF_F_ALLOW_MULTI; with `replaceFd`, atomically in place of that program (BPF_F_REPLACE). */
export function attachCgroupDeviceProgram(cgroupFd: number, progFd: number, replaceFd?: number): void {
  const flags = BPF_F_ALLOW_MULTI | (replaceFd === undefined ? 0 : BPF_F_REPLACE);
  if (bpf(BPF_PROG_ATTACH, attachAttr(cgroupFd, progFd, flags, replaceFd)) < 0) {
    throw syscallError('bpf', `BPF_PROG_ATTACH of a device program to cgroup fd ${cgroupFd}`);
  }
}

export function detachCgroupDeviceProgram(cgroupFd: number, progFd: number): void {
  if (bpf(BPF_PROG_DETACH, attachAttr(cgroupFd, progFd, 0)) < 0) {
    throw syscallError('bpf', `BPF_PROG_DETACH of a device program from cgroup fd ${cgroupFd}`);
  }
}

/** Ids of the device programs attached to the cgroup itself (not inherited ones). */
export function queryCgroupDevicePrograms(cgroupFd: number): number[] {
  return withNative([MAX_PROGS * 4], ([ids]) => {
    const attr = Buffer.alloc(ATTR_SIZE);
    attr.writeUInt32LE(cgroupFd, 0); // target_fd
    attr.writeUInt32LE(BPF_CGROUP_DEVICE, 4); // attach_type
    attr.writeBigUInt64LE(ids.address, 16); // prog_ids
    attr.writeUInt32LE(MAX_PROGS, 24); // prog_cnt: room in, count out
    if (bpf(BPF_PROG_QUERY, attr) < 0) throw syscallError('bpf', `BPF_PROG_QUERY of device programs on cgroup fd ${cgroupFd}`);
    const count = attr.readUInt32LE(24);
    const view = Buffer.from(ids.bytes());
    return Array.from({ length: count }, (_, i) => view.readUInt32LE(i * 4));
  });
}

/** An fd for an attached program, needed to detach or replace it. */
export function programFdById(id: number): number {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(id, 0); // prog_id
  const fd = bpf(BPF_PROG_GET_FD_BY_ID, attr);
  if (fd < 0) throw syscallError('bpf', `BPF_PROG_GET_FD_BY_ID ${id}`);
  return fd;
}

export function openCgroupDir(dir: string): number {
  return openFd(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/**
 * Makes `insns` the cgroup's only device program, as runc does on create and
 * update: the new one is attached before the old ones go, so there is no
 * moment without a filter. One old program is swapped atomically
 * (BPF_F_REPLACE); when the kernel lacks that, or there are several, the new
 * one is attached next to them and they are then detached.
 */
export function setCgroupDeviceProgram(cgroupDir: string, insns: Buffer, license: string): void {
  const dirFd = openCgroupDir(cgroupDir);
  const oldFds: number[] = [];
  let progFd = -1;
  try {
    for (const id of queryCgroupDevicePrograms(dirFd)) oldFds.push(programFdById(id));
    progFd = loadCgroupDeviceProgram(insns, license);
    let replaced = false;
    if (oldFds.length === 1) {
      try {
        attachCgroupDeviceProgram(dirFd, progFd, oldFds[0]);
        replaced = true;
      } catch (err) {
        // EINVAL: a kernel before 5.6 without BPF_F_REPLACE; fall back below.
        if ((err as { errnoName?: string }).errnoName !== 'EINVAL') throw err;
      }
    }
    if (!replaced) {
      attachCgroupDeviceProgram(dirFd, progFd);
      for (const fd of oldFds) detachCgroupDeviceProgram(dirFd, fd);
    }
  } finally {
    for (const fd of oldFds) closeFd(fd);
    if (progFd >= 0) closeFd(progFd);
    closeFd(dirFd);
  }
}

/** Detaches every device program attached to the cgroup directory. */
export function clearCgroupDevicePrograms(cgroupDir: string): void {
  const dirFd = openCgroupDir(cgroupDir);
  try {
    for (const id of queryCgroupDevicePrograms(dirFd)) {
      const fd = programFdById(id);
      try {
        detachCgroupDeviceProgram(dirFd, fd);
      } finally {
        closeFd(fd);
      }
    }
  } finally {
    closeFd(dirFd);
  }
}
