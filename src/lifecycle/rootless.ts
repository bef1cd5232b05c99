// Rootless mode, decided as runc decides it (docs/rootless-research.md §1-2):
// two separate facts. "Rootless euid" is simply tsrun not running as uid 0:
// the container then needs a user namespace, and id mappings beyond the
// caller's own ids go through newuidmap/newgidmap. "Rootless cgroups" is
// what --rootless true|false|auto chooses: permission errors on the default
// cgroup path are forgiven (the container runs without a cgroup of its own)
// and device rules are left to the user namespace; with --systemd-cgroup the
// user's own systemd makes the scope. Auto means: not root, or root of a
// user namespace that is not the host's (rootless podman runs its runtime so).
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inUserNamespace } from '../linux/userns';
import { UserError, configError } from '../errors';
import type { Spec } from '../spec/types';

export type RootlessFlag = boolean | 'auto';

/** --rootless's value: "auto" (or none), or a boolean spelled as Go's strconv.ParseBool accepts. */
export function parseRootlessFlag(value: string | boolean | undefined): RootlessFlag {
  if (value === undefined || value === true || value === false) return value ?? 'auto';
  const v = value.trim();
  if (v === '' || v.toLowerCase() === 'auto') return 'auto';
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new UserError(`--rootless: invalid value "${value}": want true, false or auto`);
}

export { inUserNamespace };

function euid(): number {
  return process.geteuid?.() ?? 0;
}

/**
 * Whether cgroup permission errors are forgiven (see the top of this file),
 * and, with the systemd driver, whether the user's own systemd instance
 * (not the system's) makes the scope.
 */
export function rootlessCgroups(flag: RootlessFlag): boolean {
  if (flag !== 'auto') return flag;
  return euid() !== 0 || inUserNamespace();
}

/**
 * Whether the state root defaults to $XDG_RUNTIME_DIR/tsrun: for a non-root
 * user, and for root of a user namespace unless $USER says it is the real
 * root (the host's root keeps /run/tsrun even with /run/user/0 set).
 */
export function honoursXdgRuntimeDir(env: NodeJS.ProcessEnv = process.env): boolean {
  if (!env.XDG_RUNTIME_DIR) return false;
  if (euid() !== 0) return true;
  return inUserNamespace() && env.USER !== 'root';
}

export const SYSTEM_STATE_ROOT = '/run/tsrun';

/** The default --root. */
export function defaultStateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return honoursXdgRuntimeDir(env) ? join(env.XDG_RUNTIME_DIR as string, 'tsrun') : SYSTEM_STATE_ROOT;
}

/**
 * Makes the per-user state root now, 0700 with the sticky bit (which keeps
 * XDG's periodic clean-up away from it), so that an unusable
 * $XDG_RUNTIME_DIR is one clear error at once rather than a failure later.
 */
export function prepareUserStateRoot(root: string): void {
  const fail = (err: unknown): never => {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(`$XDG_RUNTIME_DIR must be a directory this user can write: ${e.syscall ?? 'mkdir'} ${e.path ?? root}: ${e.code ?? e.message}`);
  };
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    if ((statSync(root).mode & 0o7777) !== 0o1700) chmodSync(root, 0o1700);
  } catch (err) {
    fail(err);
  }
}

/** The hint added to a state root the user may not write (a non-root user without $XDG_RUNTIME_DIR, say). */
export function stateRootHint(root: string): string {
  if (euid() === 0 && !inUserNamespace()) return '';
  if (root === SYSTEM_STATE_ROOT && !process.env.XDG_RUNTIME_DIR) return ' (not running as root: set XDG_RUNTIME_DIR, or give --root a directory this user can write)';
  return ' (give --root a directory this user can write)';
}

/**
 * What a container needs when tsrun is not root: a user namespace (only in
 * one can it hold the capabilities it is given) with at least one uid and
 * one gid mapped, as runc requires.
 */
export function checkRootlessSpec(spec: Spec): void {
  if (euid() === 0) return;
  const userNs = spec.linux?.namespaces?.find((ns) => ns.type === 'user');
  if (!userNs) throw configError('/linux/namespaces', 'a rootless container needs a user namespace (tsrun spec --rootless writes one)');
  if (userNs.path) return;
  if (!spec.linux?.uidMappings?.length) throw configError('/linux/uidMappings', 'a rootless container needs at least one uid mapping');
  if (!spec.linux?.gidMappings?.length) throw configError('/linux/gidMappings', 'a rootless container needs at least one gid mapping');
}

/** The owner `list` shows: '' (root) for root, else the user's name from /etc/passwd, or #uid. */
export function ownerName(): string {
  const uid = euid();
  if (uid === 0) return '';
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
    if (line) return line.split(':')[0];
  } catch {
    // no passwd file: the number will do
  }
  return `#${uid}`;
}
