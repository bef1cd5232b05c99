// The way out of a partial entry point (main-read.ts, main-lifecycle.ts):
// a call it does not hold goes to the full CLI.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * Loads the full CLI beside the calling bundle (dist/tsrun.js), or main.js
 * in the plain build; it runs process.argv as it would have from the start.
 */
export function runFullCli(): void {
  const bundled = join(__dirname, 'tsrun.js');
  createRequire(__filename)(existsSync(bundled) ? bundled : join(__dirname, 'main.js'));
}
