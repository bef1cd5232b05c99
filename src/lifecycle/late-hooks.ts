// poststart and poststop hooks: run by `start` and `delete` in the runtime's
// namespaces. The spec makes their failures warnings: the lifecycle goes on.
// The hook runner (and koffi) is loaded only when there are hooks to run.
import { logWarning } from '../log/logger';
import { hookState } from '../process/hook-points';
import type { ContainerRecord } from './store';

export async function runLateHooks(kind: 'poststart' | 'poststop', record: ContainerRecord, status: 'running' | 'stopped'): Promise<void> {
  const hooks = record.hooks?.[kind];
  if (!hooks?.length) return;
  const { runHooks } = await import('../hooks/run-hook');
  const state = hookState({ id: record.id, bundle: record.bundle, spec: { ociVersion: record.ociVersion, annotations: record.annotations } }, status, record.pid);
  try {
    runHooks(kind, hooks, state);
  } catch (err) {
    logWarning((err as Error).message);
  }
}
