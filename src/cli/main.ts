// tsrun's entry point in the plain build (dist/src/cli/main.js) and in the
// bundle (dist/tsrun.js) the launcher runs when there is no startup snapshot.
import { runCli } from './run-cli';
import { FULL_CLI } from './commands';

runCli(process.argv.slice(2), FULL_CLI);
