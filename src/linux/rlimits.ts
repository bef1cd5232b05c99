// setrlimit(2) for process.rlimits.
import { check, libc } from './libc';

const setrlimit = libc.func('int setrlimit(int resource, const uint8_t *rlim)');

export function setResourceLimit(resource: number, name: string, soft: number, hard: number): void {
  const rlim = Buffer.alloc(16);
  rlim.writeBigUInt64LE(toRlim(soft), 0);
  rlim.writeBigUInt64LE(toRlim(hard), 8);
  check(setrlimit(resource, rlim) as number, 'setrlimit', name);
}

const RLIM_INFINITY = 0xffffffffffffffffn;

/** JSON numbers near 2^64 arrive rounded up past it: they all mean "unlimited". */
function toRlim(value: number): bigint {
  if (value >= 2 ** 64 - 1) return RLIM_INFINITY;
  return BigInt(Math.floor(value));
}
