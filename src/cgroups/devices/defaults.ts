// The device rules a container gets besides its config's: access to the
// default devices every container has in /dev (null, zero, full, random,
// urandom, tty, ptmx, pts, tun) and mknod of any device, as runc grants.
//
// They go after the config's rules, as runc appends its allowed devices, so
// the kernel applies the config's entries in the listed order (runtime-tools
// checks that order in devices.list). The default for a device the config
// has a rule about (say, deny writes to /dev/null) goes just before that
// rule instead, so that the config keeps the last word about it.
import type { LinuxDeviceCgroup } from '../../spec/types';

export const DEFAULT_DEVICE_RULES: readonly LinuxDeviceCgroup[] = Object.freeze([
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
]);

const wildcard = (n: number | undefined): number => (n === undefined || n === -1 ? -1 : n);

function sameDevice(a: LinuxDeviceCgroup, b: LinuxDeviceCgroup): boolean {
  return (a.type ?? 'a') === (b.type ?? 'a') && wildcard(a.major) === wildcard(b.major) && wildcard(a.minor) === wildcard(b.minor);
}

export function withDefaultDeviceRules(config: readonly LinuxDeviceCgroup[] = []): LinuxDeviceCgroup[] {
  const placed = new Set<LinuxDeviceCgroup>();
  const rules: LinuxDeviceCgroup[] = [];
  for (const rule of config) {
    const own = DEFAULT_DEVICE_RULES.find((d) => sameDevice(rule, d));
    if (own && !placed.has(own)) {
      rules.push(own);
      placed.add(own);
    }
    rules.push(rule);
  }
  return [...rules, ...DEFAULT_DEVICE_RULES.filter((d) => !placed.has(d))];
}
