// Printing to stdout for the verbs that print (state, list, ps, events, ...).
// A reader that goes away (`tsrun events ID | head -1`) makes the next write
// fail with EPIPE: tsrun then ends at once and quietly, with the status a
// process killed by SIGPIPE shows in a shell (128 + 13), as runc (a Go
// program, killed by the signal) does. Node ignores SIGPIPE, so without
// this the EPIPE would surface as an uncaught error with a stack trace.

const EXIT_ON_SIGPIPE = 128 + 13;
let watching = false;

export function print(text: string): void {
  if (!watching) {
    watching = true;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(EXIT_ON_SIGPIPE);
      throw err;
    });
  }
  process.stdout.write(text);
}
