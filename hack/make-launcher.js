#!/usr/bin/env node
// Writes bin/tsrun: a launcher that execs this node, by absolute path, with
// the flags tsrun's fork model needs (docs/architecture.md §6.4), on the
// startup snapshot when hack/build-bundle.js made one, else on the bundle,
// else on the plain build. Callers such as podman run the runtime with no
// PATH, so `#!/usr/bin/env node` would not do.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const repo = path.resolve(__dirname, '..');
const dist = path.join(repo, 'dist');
const bundle = path.join(dist, 'tsrun.js');
const plain = path.join(dist, 'src', 'cli', 'main.js');
const readBlob = path.join(dist, 'snapshot', 'read.blob');
const fullBlob = path.join(dist, 'snapshot', 'full.blob');
const nodeRef = path.join(dist, 'snapshot', 'node.ref');
const launcher = path.join(repo, 'bin', 'tsrun');
/** Names this install's verdict files (several checkouts may share a machine). */
const installKey = require('node:crypto').createHash('sha256').update(dist).digest('hex').slice(0, 12);
const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const node = quote(process.execPath);
const flags = '--single-threaded --expose-gc --no-warnings';

// Variables that change how node itself starts (not what tsrun does): an
// inherited NODE_OPTIONS could load code into the process that forks the
// container, and NODE_EXTRA_CA_CERTS makes node parse a CA bundle (+35 ms)
// for TLS tsrun never makes. Hooks and containers get only the environment
// config.json gives them, so unsetting these here changes nothing for them.
const NODE_STARTUP_VARIABLES = [
  'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'NODE_ICU_DATA', 'NODE_PATH', 'NODE_PRESERVE_SYMLINKS',
  'NODE_REPL_EXTERNAL_MODULE', 'NODE_V8_COVERAGE', 'NODE_COMPILE_CACHE', 'NODE_DEBUG', 'NODE_DEBUG_NATIVE',
  'NODE_PENDING_DEPRECATION', 'NODE_REDIRECT_WARNINGS', 'NODE_NO_WARNINGS', 'NODE_TLS_REJECT_UNAUTHORIZED',
  'UV_THREADPOOL_SIZE',
];

// The verb, found the way the CLI's parser finds it (global options that take
// a value skip it). Only the choice of snapshot depends on it, never what runs.
const FIND_VERB = [
  'verb=',
  'skip=',
  'for arg; do',
  '  if [ -n "$skip" ]; then skip=; continue; fi',
  '  case "$arg" in',
  '    --root|-root|--log|-log|--log-format|-log-format|--rootless|-rootless) skip=1 ;;',
  '    -*) ;;',
  '    *) verb=$arg; break ;;',
  '  esac',
  'done',
];

/**
 * `create` leaves an init waiting for `start` with a copy of this process's
 * memory: it runs without the snapshot (whose heap is ~4 MiB more) and in
 * V8's lite mode (no optimising compiler, no feedback vectors: -0.8 MiB in
 * that init, no slower for one create). Lite mode turns WebAssembly off,
 * and V8 warns on stderr unless told so itself.
 */
const CREATE_FLAGS = '--lite-mode --no-expose-wasm';

/** The verbs that only read state: the lighter snapshot loads faster. */
const READ_VERBS = 'state|list|ps|events|spec|features|help|""';

/**
 * Whether the snapshots load here: node refuses (exit 14, nothing run) a
 * blob made with another V8 configuration, which can differ with the same
 * node binary on another machine (seen: a VM with other CPU features). The
 * first call after a boot or a build tries both blobs and leaves its verdict
 * in /run (root) or $XDG_RUNTIME_DIR: `.ok` or `.bad`, newer than the blobs.
 * Where neither is writable the snapshots are not used.
 */
function snapshotCheckLines() {
  const tryBlob = (blob) => `${node} ${flags} --snapshot-blob ${quote(blob)} -- ${quote(bundle)} --version >/dev/null 2>&1`;
  const newer = (file) => `[ "${file}" -nt ${quote(readBlob)} ] && [ "${file}" -nt ${quote(fullBlob)} ]`;
  return [
    'snapshot=',
    `if [ ${node} -ef ${quote(nodeRef)} ]; then`,
    `  if [ -w /run ]; then verdict=/run/tsrun-snapshot-${installKey}`,
    `  elif [ -n "\${XDG_RUNTIME_DIR:-}" ] && [ -w "$XDG_RUNTIME_DIR" ]; then verdict=$XDG_RUNTIME_DIR/tsrun-snapshot-${installKey}`,
    '  else verdict=; fi',
    '  if [ -z "$verdict" ]; then :',
    `  elif ${newer('$verdict.ok')}; then snapshot=1`,
    `  elif ${newer('$verdict.bad')}; then :`,
    `  elif ${tryBlob(readBlob)} && ${tryBlob(fullBlob)}; then snapshot=1; : >"$verdict.ok" 2>/dev/null`,
    '  else : >"$verdict.bad" 2>/dev/null; fi',
    'fi',
  ];
}

function execLines() {
  const entry = fs.existsSync(bundle) ? bundle : plain;
  const run = `exec ${node} ${flags} ${quote(entry)} "$@"`;
  const create = [`if [ "$verb" = create ]; then`, `  exec ${node} ${flags} ${CREATE_FLAGS} ${quote(entry)} "$@"`, 'fi'];
  if (![readBlob, fullBlob, nodeRef].every((f) => fs.existsSync(f))) return [...FIND_VERB, ...create, run];
  return [
    ...FIND_VERB,
    ...create,
    '# The snapshots fit only the node binary they were built by (node.ref is a hard link to it)',
    '# and a V8 configuration that can differ between machines.',
    ...snapshotCheckLines(),
    'if [ -n "$snapshot" ]; then',
    `  case "$verb" in ${READ_VERBS}) blob=${quote(readBlob)} ;; *) blob=${quote(fullBlob)} ;; esac`,
    `  exec ${node} ${flags} --snapshot-blob "$blob" -- ${quote(bundle)} "$@"`,
    'fi',
    run,
  ];
}

fs.mkdirSync(path.dirname(launcher), { recursive: true });
fs.writeFileSync(
  launcher,
  [
    '#!/bin/sh',
    '# Generated by hack/make-launcher.js: node with --single-threaded (forking from JavaScript',
    '# needs a process without V8 worker threads), --expose-gc (a scavenge before each fork, see',
    '# src/linux/fork.ts), no warnings on stderr (callers read it), and none of the variables',
    '# that change how node itself starts.',
    `unset ${NODE_STARTUP_VARIABLES.join(' ')}`,
    ...execLines(),
    '',
  ].join('\n'),
  { mode: 0o755 },
);
