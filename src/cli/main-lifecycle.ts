// tsrun's entry point for `start`, `delete` and `kill` (dist/lifecycle.js,
// bundled by hack/build-bundle.js; the launcher sends those verbs here).
// podman and containerd call them for every container, and each call is a
// node start: this bundle holds only what the three verbs run (~145 KB
// against the full CLI's ~670 KB), so node reads, and deserialises from the
// code cache, a quarter of it (measured: README, "Start-up").
//
// Anything else (another verb, help, the version, a command line that does
// not parse) goes to the full CLI, as from main-read.ts.
import { runCli, plainCommandOf, type CliTable } from './run-cli';
import { runFullCli } from './full-cli';
import { startCommand } from './commands/start';
import { deleteCommand } from './commands/delete';
import { killCommand } from './commands/kill';
import { exitNowIfIdle } from '../linux/exit';

const LIFECYCLE_CLI: CliTable = { commands: [startCommand, deleteCommand, killCommand], printHelp: runFullCli, finish: exitNowIfIdle };

const argv = process.argv.slice(2);
if (plainCommandOf(argv, LIFECYCLE_CLI.commands) !== undefined) runCli(argv, LIFECYCLE_CLI);
else runFullCli();
