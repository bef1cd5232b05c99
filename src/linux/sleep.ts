// A blocking sleep for the synchronous paths (cgroup freeze waits, rmdir
// retries) that run where no event loop turns. Atomics.wait on a private
// buffer nobody notifies: it just times out, without spinning a core.
// Made on first use: a startup snapshot is built without SharedArrayBuffer.
let sleeper: Int32Array | undefined;

export function sleepMs(ms: number): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, ms);
}
