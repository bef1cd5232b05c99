// A container as seen from its saved record and the live system: its status
// and the state document of the runtime-spec (plus runc's extra fields).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXEC_FIFO_NAME, type ContainerRecord, type StateStore } from './store';
import { isSameLiveProcess } from '../linux/proc-info';
import { isCgroupFrozen } from '../cgroups/frozen';
import { networkSummary, type NetworkSummary } from '../network/record';
import { networkStateDir } from '../network/state-dir';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** The CNI network `tsrun network add` joined it to (not in runc's state). */
  network?: NetworkSummary;
}

export class Container {
  constructor(
    readonly store: StateStore,
    readonly record: ContainerRecord,
  ) {}

  static load(store: StateStore, id: string): Container {
    return new Container(store, store.read(id));
  }

  get id(): string {
    return this.record.id;
  }

  get dir(): string {
    return this.store.dir(this.id);
  }

  get fifoPath(): string {
    return join(this.dir, EXEC_FIFO_NAME);
  }

  initAlive(): boolean {
    return isSameLiveProcess(this.record.pid, this.record.initStartTime);
  }

  status(): Status {
    // pid 0: written before the init exists, so that a create killed half-way
    // leaves a state `delete --force` can clean up (cgroup included).
    if (this.record.pid === 0) return 'creating';
    if (!this.initAlive()) return 'stopped';
    // Forked, not yet (or, create killed, never) known ready.
    if (this.record.creating) return 'creating';
    if (existsSync(this.fifoPath)) return 'created';
    if (this.record.cgroup && isCgroupFrozen(this.record.cgroup)) return 'paused';
    return 'running';
  }

  ociState(): OciState {
    const status = this.status();
    const r = this.record;
    const state: OciState = {
      ociVersion: r.ociVersion,
      id: r.id,
      pid: status === 'stopped' ? 0 : r.pid,
      status,
      bundle: r.bundle,
      rootfs: r.rootfs,
      created: r.created,
      owner: r.owner,
    };
    if (r.annotations && Object.keys(r.annotations).length > 0) state.annotations = r.annotations;
    // Only a container whose config has hooks can have been attached: the others pay no lookup.
    const network = r.hooks?.poststop?.length ? networkSummary(networkStateDir(), r.id, r.bundle) : undefined;
    if (network !== undefined) state.network = network;
    return state;
  }
}
