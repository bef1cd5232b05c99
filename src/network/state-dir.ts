// Where `tsrun network` keeps what outlives one command: each container's
// attachment record (so `delete` can undo it and `state` can show it), its
// /etc/hosts and /etc/resolv.conf, the default network's configuration and
// its address leases. The hooks that call `tsrun network` are told only the
// container's state (id, pid, bundle), not tsrun's --root, so this place is
// fixed per user rather than per state root; TSRUN_NETWORK_DIR overrides it
// (the tests keep everything in their own temp dirs with it).
import { join } from 'node:path';

export function networkStateDir(env: NodeJS.ProcessEnv = process.env, uid = process.geteuid?.() ?? 0): string {
  if (env.TSRUN_NETWORK_DIR) return env.TSRUN_NETWORK_DIR;
  if (uid !== 0 && env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tsrun-network');
  return '/run/tsrun-network';
}
