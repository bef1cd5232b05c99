// Synchronous writes to stdout and stderr. process.stdout and process.stderr
// are streams: when fd 1 or 2 is a pipe (as callers give tsrun) Node loads
// its whole network stack to make one, ~5 ms at every call. tsrun's output
// is a few lines, written before it exits, so plain write(2) does.
import { writeSync } from 'node:fs';
import { sleepMs } from '../linux/sleep';

/**
 * Writes all of `text` to `fd`. A pipe another process made non-blocking
 * (the flag lives in the shared file description) is waited on. Other errors
 * (EPIPE: the reader went away) are thrown to the caller.
 */
export function writeFully(fd: number, text: string): void {
  let data = Buffer.from(text);
  while (data.length > 0) {
    try {
      data = data.subarray(writeSync(fd, data));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      sleepMs(1);
    }
  }
}

/** stderr for messages: a reader gone away is no reason to fail. */
export function writeStderr(text: string): void {
  try {
    writeFully(2, text);
  } catch {
    // Nowhere left to say it.
  }
}
