// The rules for a mount's options: every word is applied or refused here,
// before anything is made, naming the option's JSON pointer. What the words
// mean is src/linux/mount-options.ts.
import { impossibleMountOption, mountOptionKind } from '../linux/mount-options';
import { fail } from './check-util';
import type { Mount } from './types';

/** Throws a ConfigError on the first option of `m` (at pointer `ptr`) that tsrun could not apply. */
export function checkMountOptions(m: Mount, ptr: string): void {
  const options = m.options ?? [];
  const isBind = m.type === 'bind' || options.some((o) => o === 'bind' || o === 'rbind');
  options.forEach((option, i) => {
    const at = `${ptr}/options/${i}`;
    const impossible = impossibleMountOption(option);
    if (impossible !== undefined) fail(at, impossible);
    const kind = mountOptionKind(option);
    // The kernel ignores the data of a bind mount: a word there (a typo of
    // "nosuid", a filesystem option) would silently do nothing. runc 1.2+
    // refuses such a mount too (its validator, opencontainers/runc#3990).
    if (kind === 'data' && isBind) {
      fail(at, `"${option}" is not a mount flag, and a bind mount takes no filesystem options (the kernel would ignore it)`);
    }
    if (option === 'tmpcopyup' && (m.type !== 'tmpfs' || isBind)) {
      fail(at, `"tmpcopyup" applies to tmpfs mounts only, not to ${isBind ? 'a bind mount' : `type ${JSON.stringify(m.type ?? 'none')}`}`);
    }
    if (option === 'copy-symlink' && !isBind) fail(at, '"copy-symlink" applies to bind mounts only');
    if (option === 'copy-symlink' && m.destination.replace(/\/+$/, '') === '') fail(at, '"copy-symlink" cannot make / a symbolic link');
  });
}
