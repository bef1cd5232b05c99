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
import { runCli, plainCommandOf, type CliTable } from './run-cli';
import { runFullCli } from './full-cli';
import { stateCommand } from './commands/state';
import { listCommand } from './commands/list';

const READ_CLI: CliTable = { commands: [stateCommand, listCommand], printHelp: runFullCli };

const argv = process.argv.slice(2);
if (plainCommandOf(argv, READ_CLI.commands) !== undefined) runCli(argv, READ_CLI);
else runFullCli();
