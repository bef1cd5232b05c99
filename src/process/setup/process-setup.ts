// Steps that make the container's program process what its `process` object
// says, for the process steps (steps.ts) the container init and an exec'd
// process both run in a forked child, synchronously.
import type { User } from '../../spec/types';
import type { CapabilitySets } from '../../linux/capabilities';
import { dropBoundingSet, keepCapsAcrossSetuid, setCapabilities } from '../../linux/capabilities';
import { setIds, setUmask } from '../../linux/proc';
import { setResourceLimit } from '../../linux/rlimits';
import { setIoPriority, setPersonality, setSchedulerAttributes } from '../../linux/sched';
import { logWarning } from '../../log/logger';
import type { ProcessAttributes, ResolvedRlimit } from '../plan/security';

/** `fieldError` names a process field where the user wrote it (the kernel refuses some combinations only when asked). */
export function applyProcessAttributes(attributes: ProcessAttributes, fieldError: (field: string, detail: string) => Error): void {
  if (attributes.personality !== undefined) setPersonality(attributes.personality);
  const named = (field: string, apply: () => void): void => {
    try {
      apply();
    } catch (err) {
      throw fieldError(field, (err as Error).message);
    }
  };
  const { ioPriority, scheduler } = attributes;
  if (ioPriority) named('ioPriority', () => setIoPriority(ioPriority.ioClass, ioPriority.level));
  if (scheduler) named('scheduler', () => setSchedulerAttributes(scheduler));
}

export function applyRlimits(rlimits: ResolvedRlimit[]): void {
  for (const r of rlimits) setResourceLimit(r.resource, r.name, r.soft, r.hard);
}

/**
 * runc's order: shrink the bounding set while still root, keep the
 * permitted set across setuid, then set effective/permitted/inheritable and
 * ambient for the new user. Without `caps` the process keeps what it has.
 */
export function switchUserKeepingCapabilities(user: User | undefined, caps: CapabilitySets | undefined, lastCap: number): void {
  const ids = user ?? { uid: 0, gid: 0 };
  if (caps) {
    dropBoundingSet(caps.bounding, lastCap);
    keepCapsAcrossSetuid(true);
  }
  setIds(ids.uid, ids.gid, ids.additionalGids ?? []);
  setUmask(ids.umask ?? 0o022);
  if (caps) {
    keepCapsAcrossSetuid(false);
    setCapabilities(caps, logWarning);
  }
}
