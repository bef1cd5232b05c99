// After the root switch: namespaced sysctls, read-only paths and masked
// paths (in that order, as runc), inside the container's own /proc and /sys.
import { writeFileSync } from 'node:fs';
import type { Spec } from '../../spec/types';
import { mountFs } from '../../linux/mount';
import { MS } from '../../linux/mount-options';
import { SyscallError, configError } from '../../errors';
import { remountBind } from './mounts';

export function applySysctls(sysctl: Record<string, string> = {}): void {
  for (const [key, value] of Object.entries(sysctl)) {
    const path = `/proc/sys/${key.replace(/\./g, '/')}`;
    try {
      writeFileSync(path, value);
    } catch (err) {
      throw configError(`/linux/sysctl/${key}`, `write ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, err);
    }
  }
}

function ignoringMissing(path: string, apply: () => void): void {
  try {
    apply();
  } catch (err) {
    if (err instanceof SyscallError && err.errnoName === 'ENOENT') return;
    throw err;
  }
}

/** Bind each path onto itself read-only (recursively), so nothing under it can be written. */
export function makeReadonlyPaths(paths: string[] = []): void {
  for (const path of paths) {
    ignoringMissing(path, () => {
      mountFs(path, path, '', MS.BIND | MS.REC);
      remountBind(path, MS.RDONLY | MS.REC);
    });
  }
}

/** Hide each path: /dev/null over a file, an empty read-only tmpfs over a directory. */
export function maskPaths(paths: string[] = []): void {
  for (const path of paths) {
    ignoringMissing(path, () => {
      try {
        mountFs('/dev/null', path, '', MS.BIND);
      } catch (err) {
        if (!(err instanceof SyscallError) || err.errnoName !== 'ENOTDIR') throw err;
        mountFs('tmpfs', path, 'tmpfs', MS.RDONLY, 'size=0k');
      }
    });
  }
}

export function hardenRootfs(spec: Spec): void {
  applySysctls(spec.linux?.sysctl);
  makeReadonlyPaths(spec.linux?.readonlyPaths);
  maskPaths(spec.linux?.maskedPaths);
}
