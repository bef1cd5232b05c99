// This installation's launcher (bin/tsrun), for hooks that call tsrun back:
// found upwards from the running script (dist/tsrun.js, or dist/src/cli/main.js).
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../errors';

export function launcherPath(): string {
  let dir = dirname(realpathSync(process.argv[1]));
  for (;;) {
    const candidate = join(dir, 'bin', 'tsrun');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new UserError(`cannot find bin/tsrun above ${process.argv[1]}: the hooks need the launcher's path`);
    dir = up;
  }
}
