// linux.resources.devices, checked once and put in the one shape that the
// evaluator, the eBPF builder and the v1 writer all read, so the three agree
// on what a rule means.
//
// Meaning (config-linux.md, "Allowed Device list"): entries apply in order,
// so for every access bit of a request the LAST entry that matches the device
// and names that bit decides; a bit no entry names is denied. A request is
// granted when all its bits are. Unset type, major or minor mean "all".
//
// A rule of type "a" with no major, no minor and access "rwm" covers every
// device and every bit: it resets the list (cgroup v1's "a" line). Any other
// "a" rule is simply a rule for both char and block devices.
import type { LinuxDeviceCgroup } from '../../spec/types';
import { configError } from '../../errors';

/** Access bits as the kernel's bpf_cgroup_dev_ctx carries them (BPF_DEVCG_ACC_*). */
export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;
export const ACC_ALL = ACC_MKNOD | ACC_READ | ACC_WRITE;

/** Device types as bpf_cgroup_dev_ctx carries them (BPF_DEVCG_DEV_*). */
export const DEV_BLOCK = 1;
export const DEV_CHAR = 2;

export type DeviceType = 'a' | 'c' | 'b';

export interface DeviceRule {
  allow: boolean;
  type: DeviceType;
  /** null: any. */
  major: number | null;
  minor: number | null;
  /** ACC_* bits, never 0. */
  access: number;
  /** JSON pointer of the entry, for messages. */
  field: string;
}

/** Largest major/minor the cgroup interfaces carry (u32). */
const MAX_NUMBER = 0xffffffff;

export function accessBits(access: string): number {
  let bits = 0;
  for (const ch of access) {
    if (ch === 'r') bits |= ACC_READ;
    else if (ch === 'w') bits |= ACC_WRITE;
    else if (ch === 'm') bits |= ACC_MKNOD;
    else return -1;
  }
  return bits;
}

export function accessString(bits: number): string {
  return `${bits & ACC_READ ? 'r' : ''}${bits & ACC_WRITE ? 'w' : ''}${bits & ACC_MKNOD ? 'm' : ''}`;
}

/** True for the rule that covers every device and every access: a reset. */
export function isReset(rule: DeviceRule): boolean {
  return rule.type === 'a' && rule.major === null && rule.minor === null && rule.access === ACC_ALL;
}

/** Validates and normalises the config's rules; a bad entry throws naming its field. */
export function normalizeDeviceRules(rules: readonly LinuxDeviceCgroup[], base = '/linux/resources/devices'): DeviceRule[] {
  return rules.map((r, i) => {
    const field = `${base}/${i}`;
    const type = r.type ?? 'a';
    if (type !== 'a' && type !== 'c' && type !== 'b') {
      throw configError(`${field}/type`, `must be "a", "c" or "b", not ${JSON.stringify(type)}`);
    }
    // runc refuses an empty access too: "no access" and "all access" are
    // both plausible readings, and guessing wrong opens or closes devices.
    if (r.access === undefined || r.access === '') {
      throw configError(`${field}/access`, 'must name at least one of r, w, m');
    }
    const access = accessBits(r.access);
    if (access < 0) throw configError(`${field}/access`, `${JSON.stringify(r.access)} may only hold r, w and m`);
    return { allow: r.allow === true, type, major: number(r.major, `${field}/major`), minor: number(r.minor, `${field}/minor`), access, field };
  });
}

/** Unset or -1 (crun's and runc's internal "any") mean any device number. */
function number(value: number | undefined, field: string): number | null {
  if (value === undefined || value === -1) return null;
  if (!Number.isInteger(value) || value < 0 || value > MAX_NUMBER) {
    throw configError(field, `${value} is not a device number (0 to ${MAX_NUMBER}, or unset for any)`);
  }
  return value;
}

/** Whether `rule` applies to the device (its access is checked by the caller). */
export function ruleMatchesDevice(rule: DeviceRule, type: 'c' | 'b', major: number, minor: number): boolean {
  return (rule.type === 'a' || rule.type === type) && (rule.major === null || rule.major === major) && (rule.minor === null || rule.minor === minor);
}

/**
 * The rules that still matter: everything before the last reset is
 * overridden by it, and the reset's verdict becomes the default (deny when
 * there is none). Leading rules that agree with the default change nothing.
 */
export function effectiveRules(rules: readonly DeviceRule[]): { defaultAllow: boolean; rules: DeviceRule[] } {
  let start = 0;
  let defaultAllow = false;
  rules.forEach((r, i) => {
    if (isReset(r)) {
      start = i + 1;
      defaultAllow = r.allow;
    }
  });
  let rest = rules.slice(start);
  const firstDifferent = rest.findIndex((r) => r.allow !== defaultAllow);
  rest = firstDifferent < 0 ? [] : rest.slice(firstDifferent);
  return { defaultAllow, rules: rest };
}
