// personality(2), ioprio_set(2), sched_setattr(2) and sched_setaffinity(2).
import { check, libc, rawSyscall, syscallNumber, syscallError } from './libc';

const personalityCall = libc.func('int personality(unsigned long persona)');

export const PER_LINUX = 0x0000;
export const PER_LINUX32 = 0x0008;

export function setPersonality(persona: number): void {
  check(personalityCall(persona) as number, 'personality', `0x${persona.toString(16)}`);
}

const IOPRIO_WHO_PROCESS = 1;
const IOPRIO_CLASS_SHIFT = 13;

export function setIoPriority(ioClass: number, level: number): void {
  const value = (ioClass << IOPRIO_CLASS_SHIFT) | level;
  const ret = rawSyscall(syscallNumber('ioprio_set'), 'int', IOPRIO_WHO_PROCESS, 'int', 0, 'int', value);
  if (ret < 0) throw syscallError('ioprio_set', `class ${ioClass} level ${level}`);
}

export interface SchedAttr {
  policy: number;
  flags: number;
  nice: number;
  priority: number;
  runtime: number;
  deadline: number;
  period: number;
}

const SCHED_ATTR_SIZE = 56;

export function setSchedulerAttributes(attr: SchedAttr): void {
  const buf = Buffer.alloc(SCHED_ATTR_SIZE);
  buf.writeUInt32LE(SCHED_ATTR_SIZE, 0);
  buf.writeUInt32LE(attr.policy, 4);
  buf.writeBigUInt64LE(BigInt(attr.flags), 8);
  buf.writeInt32LE(attr.nice, 16);
  buf.writeUInt32LE(attr.priority, 20);
  buf.writeBigUInt64LE(BigInt(attr.runtime), 24);
  buf.writeBigUInt64LE(BigInt(attr.deadline), 32);
  buf.writeBigUInt64LE(BigInt(attr.period), 40);
  const ret = rawSyscall(syscallNumber('sched_setattr'), 'int', 0, 'uint8_t *', buf, 'unsigned int', 0);
  if (ret < 0) throw syscallError('sched_setattr', `policy ${attr.policy}`);
}

const PR_SET_DUMPABLE = 4;
const prctlCall = libc.func('int prctl(int option, ...)');

/**
 * A non-dumpable process' /proc entries belong to root and cannot be
 * ptraced or opened by the container (CVE-2019-5736: /proc/<pid>/exe of the
 * runtime). execve makes the program dumpable again by the usual rules.
 */
export function setDumpable(on: boolean): void {
  check(prctlCall(PR_SET_DUMPABLE, 'unsigned long', on ? 1 : 0, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0) as number, 'prctl', 'PR_SET_DUMPABLE');
}

const schedSetaffinity = libc.func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)');

/** sched_setaffinity(2) for `pid` (0: this process): runs it only on `cpus`. `shown` names the setting in errors. */
export function setCpuAffinity(pid: number, cpus: readonly number[], shown: string): void {
  const mask = Buffer.alloc(Math.max(8, Math.ceil((Math.max(...cpus, 0) + 1) / 64) * 8));
  for (const cpu of cpus) mask[cpu >> 3] |= 1 << (cpu & 7);
  check(schedSetaffinity(pid, mask.length, mask) as number, 'sched_setaffinity', `${shown} for pid ${pid}`);
}
