// The device rules a container gets besides its config's: access to the
// default devices every container has in /dev (null, zero, full, random,
// urandom, tty, ptmx, pts, tun) and mknod of any device, as runc grants.
//
// They go right after the config's last "deny everything" rule (or first,
// when there is none): a config that starts from deny-all still gets its
// standard devices, and a rule the config writes afterwards (deny writes to
// /dev/null, say) still has the last word.
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

function resetsEverything(rule: LinuxDeviceCgroup): boolean {
  const wild = (n: number | undefined): boolean => n === undefined || n === -1;
  return !rule.allow && (rule.type === undefined || rule.type === 'a') && wild(rule.major) && wild(rule.minor) && /^(?=.*r)(?=.*w)(?=.*m)[rwm]+$/.test(rule.access ?? '');
}

export function withDefaultDeviceRules(config: readonly LinuxDeviceCgroup[] = []): LinuxDeviceCgroup[] {
  let at = 0;
  config.forEach((rule, i) => {
    if (resetsEverything(rule)) at = i + 1;
  });
  return [...config.slice(0, at), ...DEFAULT_DEVICE_RULES, ...config.slice(at)];
}
