// The device rules evaluated straight from their definition (see rules.ts):
// per access bit, the last matching rule that names the bit decides, and an
// undecided bit is denied. No shortcuts, so it can judge the eBPF program
// and the v1 writes in tests.
import { ACC_ALL, ruleMatchesDevice, type DeviceRule } from './rules';

export interface DeviceRequest {
  type: 'c' | 'b';
  major: number;
  minor: number;
  /** ACC_* bits, at least one: the kernel never asks for none. */
  access: number;
}

/** The kernel's dev_t holds 12 bits of major and 20 of minor: no device has more. */
export const MAX_MAJOR = 0xfff;
export const MAX_MINOR = 0xfffff;

export function deviceAllowed(rules: readonly DeviceRule[], req: DeviceRequest): boolean {
  if (req.access <= 0 || (req.access & ~ACC_ALL) !== 0) throw new RangeError(`access bits ${req.access} out of range`);
  if (req.major < 0 || req.major > MAX_MAJOR || req.minor < 0 || req.minor > MAX_MINOR) {
    throw new RangeError(`device ${req.major}:${req.minor} cannot exist`);
  }
  for (let bit = 1; bit <= ACC_ALL; bit <<= 1) {
    if ((req.access & bit) === 0) continue;
    let allowed = false;
    for (const rule of rules) {
      if ((rule.access & bit) !== 0 && ruleMatchesDevice(rule, req.type, req.major, req.minor)) allowed = rule.allow;
    }
    if (!allowed) return false;
  }
  return true;
}
