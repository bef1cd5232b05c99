// What the hooks are told, and when the create path needs its hook handshake.
import type { Spec } from '../spec/types';
import { OCI_VERSION } from '../spec/default-spec';

export interface HookStateInput {
  id: string;
  bundle: string;
  spec: Spec;
}

/** The runtime-spec state document handed to hooks on stdin. */
export function hookState(plan: HookStateInput, status: 'creating' | 'created' | 'running' | 'stopped', pid: number): object {
  const state: Record<string, unknown> = { ociVersion: plan.spec.ociVersion ?? OCI_VERSION, id: plan.id, status, pid, bundle: plan.bundle };
  if (plan.spec.annotations && Object.keys(plan.spec.annotations).length > 0) state.annotations = plan.spec.annotations;
  return state;
}

/** Hooks that need the init and the runtime to meet before the root switch. */
export function hasCreateHooks(spec: Spec): boolean {
  const h = spec.hooks ?? {};
  return Boolean(h.prestart?.length || h.createRuntime?.length || h.createContainer?.length);
}
