// tsrun's entry point in the V8 startup snapshots (hack/build-bundle.js):
// this one, for the verbs that only read (state, list, ...), and
// snapshot-full.ts for the others. Code run while a snapshot is built may
// only load Node's built-ins. The command line and the verbs' modules are
// evaluated then and kept in the snapshot: none reads the environment or calls a C function when loaded
// (were one to, the build would fail and the launcher run the bundle). What
// they load on demand (help, the systemd driver) is compiled into the
// snapshot and evaluated on first use. koffi's native module is loaded after
// deserialisation, through a real `require`.
import { startupSnapshot } from 'node:v8';
import { createRequire } from 'node:module';
import { runCli } from './run-cli';
import { splitGlobal, parseCommandArgs } from './parse';
import { COMMANDS, FULL_CLI } from './commands';
// What state and list run, evaluated here rather than at each call.
import '../lifecycle/list';

/**
 * Parses a command line for every verb while the snapshot is built, so the
 * parser's functions are kept compiled in it rather than compiled at each call.
 */
function compileParser(): void {
  for (const command of COMMANDS) {
    const { rest } = splitGlobal(['--root', '/nonexistent', '--log-format=json', command.name, 'id']);
    try {
      parseCommandArgs(command, rest);
    } catch {
      // Some verbs want other arguments; the parser ran all the same.
    }
  }
}

compileParser();

startupSnapshot.setDeserializeMainFunction(() => {
  // The launcher passes the bundle's path first (`-- dist/tsrun.js ARGS`), as
  // node itself would put a script's: process.argv has its usual shape.
  (globalThis as typeof globalThis & { tsrunRequire?: NodeJS.Require }).tsrunRequire = createRequire(process.argv[1]);
  runCli(process.argv.slice(2), FULL_CLI);
});
