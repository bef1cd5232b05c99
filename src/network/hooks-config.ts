// The hooks `tsrun spec --network` writes: `tsrun network add` when the
// container's namespaces exist (createRuntime: runtime namespace, before
// the root switch, so the bind mounts of /etc/hosts and /etc/resolv.conf
// land under the new root) and `tsrun network del` after it is gone
// (poststop, which delete runs, and create too when it fails after the add).
import type { Hook } from '../spec/types';
import { publishFlag } from './publish';
import type { PortMapping } from './types';

export function networkHooks(launcher: string, network: string, publish: PortMapping[]): { createRuntime: Hook[]; poststop: Hook[] } {
  const common = ['--network', network];
  return {
    createRuntime: [{ path: launcher, args: ['tsrun', 'network', 'add', ...common, ...publish.flatMap((p) => ['--publish', publishFlag(p)])] }],
    poststop: [{ path: launcher, args: ['tsrun', 'network', 'del', ...common] }],
  };
}
