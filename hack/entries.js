// What the launcher runs, and with which node flags: shared by the build
// (build-bundle.js), which makes these files, and by make-launcher.js, which
// writes bin/tsrun to run them. V8 refuses a startup snapshot or a code cache
// made with other flags than it runs with.
'use strict';
const path = require('node:path');

const dist = path.resolve(__dirname, '..', 'dist');

/**
 * --single-threaded: forking from JavaScript needs a process without V8
 * worker threads; --expose-gc: a scavenge before each fork (src/linux/fork.ts);
 * no warnings on stderr, which callers read.
 */
const NODE_FLAGS = ['--single-threaded', '--expose-gc', '--no-warnings'];

/**
 * Added for `create`, which leaves an init waiting for `start` with a copy of
 * this process's memory: V8's lite mode (no optimising compiler, no feedback
 * vectors: -0.8 MiB in that init, no slower for one create). Lite mode turns
 * WebAssembly off, and V8 warns on stderr unless told so itself.
 */
const CREATE_FLAGS = ['--lite-mode', '--no-expose-wasm'];

/**
 * Variables that change how node itself starts (not what tsrun does), unset
 * by the launcher: an inherited NODE_OPTIONS could load code into the process
 * that forks the container, and NODE_EXTRA_CA_CERTS makes node parse a CA
 * bundle (+35 ms) for TLS tsrun never makes. Hooks and containers get only
 * the environment config.json gives them, so unsetting these changes nothing
 * for them.
 */
const NODE_STARTUP_VARIABLES = [
  'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'NODE_ICU_DATA', 'NODE_PATH', 'NODE_PRESERVE_SYMLINKS',
  'NODE_REPL_EXTERNAL_MODULE', 'NODE_V8_COVERAGE', 'NODE_COMPILE_CACHE', 'NODE_DEBUG', 'NODE_DEBUG_NATIVE',
  'NODE_PENDING_DEPRECATION', 'NODE_REDIRECT_WARNINGS', 'NODE_NO_WARNINGS', 'NODE_TLS_REJECT_UNAUTHORIZED',
  'UV_THREADPOOL_SIZE',
];

module.exports = {
  dist,
  NODE_FLAGS,
  NODE_STARTUP_VARIABLES,
  CREATE_FLAGS,
  /** The tsc output: what runs when nothing was bundled. */
  PLAIN_MAIN: path.join(dist, 'src', 'cli', 'main.js'),
  /** The whole CLI in one file (src/cli/main.ts). */
  BUNDLE: path.join(dist, 'tsrun.js'),
  /** `state` and `list` alone (src/cli/main-read.ts). */
  READ_BUNDLE: path.join(dist, 'read.js'),
  /** `start`, `delete` and `kill` alone (src/cli/main-lifecycle.ts). */
  LIFECYCLE_BUNDLE: path.join(dist, 'lifecycle.js'),
  /** Starts a bundle from a code cache (src/cli/cached-start.ts). */
  CACHED_START: path.join(dist, 'src', 'cli', 'cached-start.js'),
  /** V8 code caches, each for one bundle and one set of flags. */
  READ_CACHE: path.join(dist, 'read.js.cache'),
  LIFECYCLE_CACHE: path.join(dist, 'lifecycle.js.cache'),
  CREATE_CACHE: path.join(dist, 'tsrun.js.create-cache'),
  /** Startup snapshots and the node binary they fit. */
  SNAPSHOT_DIR: path.join(dist, 'snapshot'),
  READ_BLOB: path.join(dist, 'snapshot', 'read.blob'),
  FULL_BLOB: path.join(dist, 'snapshot', 'full.blob'),
  NODE_REF: path.join(dist, 'snapshot', 'node.ref'),
};
