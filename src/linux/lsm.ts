// AppArmor profile and SELinux label of the program: both are set by writing
// the process' "exec" attribute, which the kernel applies at execve.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { configError } from '../errors';

export function hostLsms(): string[] {
  return lsmsFrom({
    lsmList: readOrUndefined('/sys/kernel/security/lsm'),
    apparmorEnabled: readOrUndefined('/sys/module/apparmor/parameters/enabled'),
    selinuxfs: existsSync('/sys/fs/selinux/enforce'),
  });
}

/**
 * The active LSMs: securityfs' list when this mount namespace has it. It may
 * not: podman runs the runtime in a mount namespace without securityfs for
 * --uidmap, and still passes its AppArmor profile. The modules' own sysfs
 * files then tell (runc reads the same AppArmor parameter).
 */
export function lsmsFrom(seen: { lsmList?: string; apparmorEnabled?: string; selinuxfs: boolean }): string[] {
  if (seen.lsmList !== undefined) return seen.lsmList.trim().split(',').filter(Boolean);
  const found: string[] = [];
  if (seen.apparmorEnabled?.startsWith('Y')) found.push('apparmor');
  if (seen.selinuxfs) found.push('selinux');
  return found;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Checked in the parent, so that create fails before anything is made. */
export function checkLsmSupport(apparmorProfile: string | undefined, selinuxLabel: string | undefined, lsms = hostLsms()): void {
  if (apparmorProfile && !lsms.includes('apparmor')) {
    throw configError('/process/apparmorProfile', `AppArmor is not enabled on this host (cannot apply profile "${apparmorProfile}")`);
  }
  if (selinuxLabel && !lsms.includes('selinux')) {
    throw configError('/process/selinuxLabel', `SELinux is not enabled on this host (cannot apply label "${selinuxLabel}")`);
  }
}

/** In the init, last step before the exec. */
export function setExecLabels(apparmorProfile: string | undefined, selinuxLabel: string | undefined): void {
  if (apparmorProfile) {
    const attr = existsSync('/proc/self/attr/apparmor/exec') ? '/proc/self/attr/apparmor/exec' : '/proc/self/attr/exec';
    writeAttr(attr, `exec ${apparmorProfile}`, '/process/apparmorProfile');
  }
  if (selinuxLabel) writeAttr('/proc/self/attr/exec', selinuxLabel, '/process/selinuxLabel');
}

function writeAttr(path: string, value: string, pointer: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    throw configError(pointer, `write ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, err);
  }
}
