// Applying capability sets: bounding (prctl CAPBSET_DROP), effective,
// permitted, inheritable (capset v3) and ambient (prctl CAP_AMBIENT).
import { check, libc, syscallError } from './libc';

const c = {
  capset: libc.func('int capset(uint8_t *header, uint8_t *data)'),
  prctl: libc.func('int prctl(int option, ...)'),
};

const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
const PR_CAPBSET_READ = 23;
const PR_CAPBSET_DROP = 24;
const PR_SET_KEEPCAPS = 8;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_RAISE = 2;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;

/** Sets of capability numbers, already checked against the running kernel. */
export interface CapabilitySets {
  bounding: number[];
  effective: number[];
  permitted: number[];
  inheritable: number[];
  ambient: number[];
}

function prctl(option: number, arg: number, what: string): number {
  return check(c.prctl(option, 'unsigned long', arg, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0) as number, 'prctl', what);
}

/** Keeps the permitted set across the uid change that follows. */
export function keepCapsAcrossSetuid(on: boolean): void {
  prctl(PR_SET_KEEPCAPS, on ? 1 : 0, 'PR_SET_KEEPCAPS');
}

export function dropBoundingSet(keep: number[], lastCap: number): void {
  const kept = new Set(keep);
  for (let cap = 0; cap <= lastCap; cap++) {
    if (kept.has(cap)) continue;
    if ((c.prctl(PR_CAPBSET_READ, 'unsigned long', cap) as number) !== 1) continue;
    prctl(PR_CAPBSET_DROP, cap, `PR_CAPBSET_DROP ${cap}`);
  }
}

function bitmask(caps: number[]): [number, number] {
  let low = 0;
  let high = 0;
  for (const cap of caps) {
    if (cap < 32) low |= 1 << cap;
    else high |= 1 << (cap - 32);
  }
  return [low >>> 0, high >>> 0];
}

/**
 * Sets effective/permitted/inheritable, then raises each ambient capability.
 * The kernel refuses an ambient one that is not also permitted and
 * inheritable; like runc, that is a warning (through `warn`), not a failure.
 */
export function setCapabilities(sets: CapabilitySets, warn: (msg: string) => void): void {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
  header.writeInt32LE(0, 4);
  const data = Buffer.alloc(24); // two __user_cap_data_struct {effective, permitted, inheritable}
  const [eLow, eHigh] = bitmask(sets.effective);
  const [pLow, pHigh] = bitmask(sets.permitted);
  const [iLow, iHigh] = bitmask(sets.inheritable);
  data.writeUInt32LE(eLow, 0);
  data.writeUInt32LE(pLow, 4);
  data.writeUInt32LE(iLow, 8);
  data.writeUInt32LE(eHigh, 12);
  data.writeUInt32LE(pHigh, 16);
  data.writeUInt32LE(iHigh, 20);
  check(c.capset(header, data) as number, 'capset');
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 'PR_CAP_AMBIENT_CLEAR_ALL');
  for (const cap of sets.ambient) {
    const ret = c.prctl(PR_CAP_AMBIENT, 'unsigned long', PR_CAP_AMBIENT_RAISE, 'unsigned long', cap, 'unsigned long', 0, 'unsigned long', 0) as number;
    if (ret < 0) warn(`cannot raise ambient capability ${cap}: ${syscallError('prctl', 'PR_CAP_AMBIENT_RAISE').errnoName}`);
  }
}
