// poststart and poststop hooks: run by `start` and `delete` in the runtime's
// namespaces. The spec makes their failures warnings: every hook of the kind
// still runs, the lifecycle goes on, and each failure is printed to stderr.
// The hook runner (and koffi) is loaded only when there are hooks to run.
import { warn } from '../log/logger';
import { hookState } from './hook-points';
import type { Hook } from '../spec/types';

/** What a container's saved state keeps for its late hooks. */
export interface LateHooksOwner {
  id: string;
  bundle: string;
  pid: number;
  ociVersion: string;
  annotations?: Record<string, string>;
  hooks?: { poststart?: Hook[]; poststop?: Hook[] };
}

export async function runLateHooks(kind: 'poststart' | 'poststop', owner: LateHooksOwner, status: 'running' | 'stopped'): Promise<void> {
  const hooks = owner.hooks?.[kind];
  if (!hooks?.length) return;
  const { runAllHooks } = await import('./run-hook');
  const state = hookState({ id: owner.id, bundle: owner.bundle, spec: { ociVersion: owner.ociVersion, annotations: owner.annotations } }, status, owner.pid);
  for (const failure of runAllHooks(kind, hooks, state)) warn(failure.message);
}
