// linux.resources.devices -> writes to cgroup v1's devices.allow/devices.deny.
//
// v1 keeps a default (allow or deny all) plus a list of exceptions, and its
// rules are not "last match wins": a line that goes against the default adds
// an exception, a line that agrees with it removes only the exception with
// exactly the same type:major:minor. So the config's rules are replayed in
// order (the spec says "apply entries in the listed order") on a model of that
// list, starting from "a" written to devices.deny (deny everything):
//   - a rule that removes access also removes it from the narrower
//     exceptions it covers (c 1:* after c 1:3), which v1 would leave alone;
//   - a rule that would need a hole in a wider exception (deny c 1:3 after
//     allow c 1:*) cannot be expressed in v1 and is refused, as runc does,
//     rather than silently leaving the device open.
// The outcome equals emulator.ts for every single access bit; a request for
// several bits at once is stricter on v1 when the bits come from different
// exceptions (the kernel wants one exception holding them all).
import type { LinuxDeviceCgroup } from '../../spec/types';
import { configError } from '../../errors';
import type { CgroupWrite } from '../types';
import { accessString, isReset, normalizeDeviceRules, type DeviceRule } from './rules';

const CONTROLLER = 'devices';
const BASE_FIELD = '/linux/resources/devices';

type Concrete = Omit<DeviceRule, 'type'> & { type: 'c' | 'b' };

export function v1DeviceWrites(config: readonly LinuxDeviceCgroup[]): CgroupWrite[] {
  const writes: CgroupWrite[] = [{ controller: CONTROLLER, file: 'devices.deny', value: 'a', field: BASE_FIELD }];
  let defaultAllow = false;
  let exceptions: Concrete[] = [];
  for (const rule of normalizeDeviceRules(config)) {
    const file = rule.allow ? 'devices.allow' : 'devices.deny';
    if (isReset(rule)) {
      writes.push({ controller: CONTROLLER, file, value: 'a', field: rule.field });
      defaultAllow = rule.allow;
      exceptions = [];
      continue;
    }
    // v1 has no "a" exception: a rule for both kinds is one line for each.
    for (const type of rule.type === 'a' ? (['c', 'b'] as const) : [rule.type]) {
      const r: Concrete = { ...rule, type };
      writes.push({ controller: CONTROLLER, file, value: line(r, r.access), field: r.field });
      if (r.allow !== defaultAllow) {
        addException(exceptions, r);
        continue;
      }
      for (const ex of exceptions) {
        const shared = ex.access & r.access;
        if (shared === 0 || !overlaps(ex, r)) continue;
        if (!covers(r, ex)) {
          const verb = r.allow ? 'allow' : 'deny';
          throw configError(
            r.field,
            `cgroup v1 cannot ${verb} ${line(r, r.access)} after ${verb === 'allow' ? 'denying' : 'allowing'} ${line(ex, ex.access)}: ` +
              'its device list cannot cut a hole in a wider rule',
          );
        }
        if (!sameDevice(ex, r)) writes.push({ controller: CONTROLLER, file, value: line(ex, shared), field: r.field });
        ex.access &= ~shared;
      }
      exceptions = exceptions.filter((ex) => ex.access !== 0);
    }
  }
  return writes;
}

function line(r: Concrete, access: number): string {
  return `${r.type} ${r.major ?? '*'}:${r.minor ?? '*'} ${accessString(access)}`;
}

/** The kernel merges access into an exception with the same device. */
function addException(list: Concrete[], r: Concrete): void {
  const same = list.find((ex) => sameDevice(ex, r));
  if (same) same.access |= r.access;
  else list.push({ ...r });
}

function sameDevice(a: Concrete, b: Concrete): boolean {
  return a.type === b.type && a.major === b.major && a.minor === b.minor;
}

/** Every device `inner` names is also named by `outer`. */
function covers(outer: Concrete, inner: Concrete): boolean {
  return outer.type === inner.type && (outer.major === null || outer.major === inner.major) && (outer.minor === null || outer.minor === inner.minor);
}

function overlaps(a: Concrete, b: Concrete): boolean {
  const same = (x: number | null, y: number | null): boolean => x === null || y === null || x === y;
  return a.type === b.type && same(a.major, b.major) && same(a.minor, b.minor);
}
