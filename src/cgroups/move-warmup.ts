// Taking the slow part of a cgroup move off the path of create and exec.
//
// A write to cgroup.procs takes the kernel's cgroup_threadgroup_rwsem for
// writing, which first waits for an RCU grace period unless another move
// ended within about one grace period before (rcu_sync): measured here,
// 5-30 ms for the first move and 0.1 ms for one that follows within ~10 ms.
// Stage 1 waits while the runtime moves it, so that wait was on the path of
// every create and exec. Moving this process into the cgroup it is already
// in changes nothing but takes the same lock: started on libuv's thread pool
// a few milliseconds ahead, its wait for the grace period overlaps the
// runtime's own work, and the real move then finds the fast path or waits
// only for what is left of that grace period.
import { close, openSync, write } from 'node:fs';
import { join } from 'node:path';
import { hostCgroupLayout, ownCgroups, type CgroupLayout } from './detect';
import { closeInForkedChildren, forkedChildrenMayKeep } from '../linux/fork';

/**
 * The cgroup.procs of the cgroup `own` (a process' /proc/PID/cgroup, parsed)
 * names: in the cgroup2 mount if there is one, else in the first v1 hierarchy.
 * Any will do: the lock is one for every hierarchy.
 */
export function ownProcsFile(layout: CgroupLayout, own: Map<string, string>): string | undefined {
  const unified = own.get('');
  if (layout.unifiedMount !== undefined && unified !== undefined) return join(layout.unifiedMount, unified, 'cgroup.procs');
  for (const [controller, mount] of layout.v1Mounts) {
    const path = own.get(controller);
    if (path !== undefined) return join(mount, path, 'cgroup.procs');
  }
  return undefined;
}

/** The descriptor of the move in flight, if one is. */
let inFlight: number | undefined;

/**
 * Starts the move of this process into its own cgroup and returns at once
 * (nothing more while one is in flight). Nothing waits for it; a failure
 * (no write access, as for most rootless callers) only means no head
 * start. The file is opened here and only the write goes to the thread
 * pool: it has to start while this thread is still busy, and fs.writeFile
 * would wait for the event loop between its open and its write. The
 * descriptor is not handed to forked children.
 */
export function warmUpCgroupMove(): void {
  if (inFlight !== undefined) return;
  let fd: number;
  try {
    const file = ownProcsFile(hostCgroupLayout(), ownCgroups());
    if (file === undefined) return;
    fd = openSync(file, 'w');
  } catch {
    return;
  }
  closeInForkedChildren(fd);
  inFlight = fd;
  write(fd, String(process.pid), () => {
    forkedChildrenMayKeep(fd);
    close(fd, () => undefined);
    inFlight = undefined;
  });
}
