// The way out of a partial entry point (main-read.ts, main-lifecycle.ts):
// a call it does not hold goes to the full CLI.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Loads the full CLI beside the calling bundle (dist/tsrun.js), or main.js
 * in the plain build; it runs process.argv as it would have from the start.
 * The module's own require takes the absolute path in both builds, so the
 * public `node:module` (~1 ms of compiling at each state, start, delete and
 * kill) is never loaded for it.
 */
export function runFullCli(): void {
  const bundled = join(__dirname, 'tsrun.js');
  require(existsSync(bundled) ? bundled : join(__dirname, 'main.js'));
}
