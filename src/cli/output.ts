// Printing to stdout for the verbs that print (state, list, ps, events, ...).
// A reader that goes away (`tsrun events ID | head -1`) makes the next write
// fail with EPIPE: tsrun then ends at once and quietly, with the status a
// process killed by SIGPIPE shows in a shell (128 + 13), as runc (a Go
// program, killed by the signal) does. Node ignores SIGPIPE, so without
// this the EPIPE would surface as an error.
import { writeFully } from '../log/write-fd';

const EXIT_ON_SIGPIPE = 128 + 13;

export function print(text: string): void {
  try {
    writeFully(1, text);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') process.exit(EXIT_ON_SIGPIPE);
    throw err;
  }
}
