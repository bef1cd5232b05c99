// tsrun's entry point for `state` and `list` (dist/read.js, bundled by
// hack/build-bundle.js; the launcher sends those two verbs here). Callers
// such as podman and containerd call `state` after every other verb, so it
// should cost little more than node's own start: this bundle holds only what
// the two verbs run (~40 KB against the full CLI's ~670 KB) and needs no
// startup snapshot, whose deserialisation alone costs more than compiling
// that much (measured: README, "Start-up").
//
// Anything else — another verb, help, the version, a command line that does
// not parse — is the full CLI's: it is loaded from beside this file and runs
// process.argv as it would have.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { runCli, plainCommandOf, type CliTable } from './run-cli';
import { stateCommand } from './commands/state';
import { listCommand } from './commands/list';

const READ_CLI: CliTable = { commands: [stateCommand, listCommand], printHelp: runFullCli };

/** The full CLI beside this file (dist/tsrun.js, or main.js in the plain build) runs process.argv when loaded. */
function runFullCli(): void {
  const bundled = join(__dirname, 'tsrun.js');
  createRequire(__filename)(existsSync(bundled) ? bundled : join(__dirname, 'main.js'));
}

const argv = process.argv.slice(2);
if (plainCommandOf(argv, READ_CLI.commands) !== undefined) runCli(argv, READ_CLI);
else runFullCli();
