// `--network NET [--publish H:C]...` of `spec` and `bundle`: the hooks that
// put the container on a CNI network, calling this installation's launcher.
import { UserError } from '../errors';
import type { Spec } from '../spec/types';

/** What to do to the config for these flags; undefined when there is no --network. */
export async function networkAmendment(verb: string, network: string | undefined, publish: string[], rootless: boolean): Promise<((spec: Spec) => void) | undefined> {
  if (network === undefined) {
    if (publish.length > 0) throw new UserError(`${verb}: --publish goes with --network`);
    return undefined;
  }
  if (rootless) throw new UserError(`${verb}: --network needs root (a CNI bridge); a rootless container keeps to its loopback`);
  const [{ networkHooks }, { parsePublish }, { launcherPath }] = await Promise.all([import('../network/hooks-config'), import('../network/publish'), import('./launcher-path')]);
  const hooks = networkHooks(launcherPath(), network, publish.map(parsePublish));
  return (spec) => {
    spec.hooks = { ...spec.hooks, createRuntime: [...(spec.hooks?.createRuntime ?? []), ...hooks.createRuntime], poststop: [...(spec.hooks?.poststop ?? []), ...hooks.poststop] };
  };
}
