#!/usr/bin/env node
// Writes bin/tsrun: a launcher that execs this node, by absolute path, with
// the flags tsrun's fork model needs (docs/architecture.md §6.4), on what
// hack/build-bundle.js made for each verb (a bundle from its code cache, or
// a startup snapshot), else on the bundle, else on the plain build. Callers
// such as podman run the runtime with no PATH, so `#!/usr/bin/env node`
// would not do.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const E = require('./entries');

const launcher = path.resolve(__dirname, '..', 'bin', 'tsrun');
/** Names this install's verdict files (several checkouts may share a machine). */
const installKey = require('node:crypto').createHash('sha256').update(E.dist).digest('hex').slice(0, 12);
const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const node = quote(process.execPath);
const flags = E.NODE_FLAGS.join(' ');

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
 * memory: it runs without the snapshot (whose heap is ~4 MiB more), in lite
 * mode (entries.js), from its code cache.
 */
const CREATE_FLAGS = E.CREATE_FLAGS.join(' ');

/**
 * Verbs run from a bundle and its code cache rather than a snapshot, each
 * measured faster so (README, "Start-up"): state and list from `dist/read.js`,
 * which holds only them (src/cli/main-read.ts); start, delete and kill from
 * `dist/lifecycle.js` (src/cli/main-lifecycle.ts), as their paths are short
 * and the full snapshot's heap costs more to load than what they compile.
 * `run` and `exec` compile far more: they keep the snapshot.
 */
const CACHED_VERBS = [
  { verbs: 'state|list', bundle: E.READ_BUNDLE, cache: E.READ_CACHE },
  { verbs: 'start|delete|kill', bundle: E.LIFECYCLE_BUNDLE, cache: E.LIFECYCLE_CACHE },
];

/** The other verbs that only read: the lighter snapshot loads faster. */
const READ_VERBS = 'ps|events|spec|features|help|""';

/**
 * Whether the snapshots load here: node refuses (exit 14, nothing run) a
 * blob made with another V8 configuration, which can differ with the same
 * node binary on another machine (seen: a VM with other CPU features). The
 * first call after a boot or a build tries both blobs and leaves its verdict
 * in /run (root) or $XDG_RUNTIME_DIR: `.ok` or `.bad`, newer than the blobs.
 * Where neither is writable the snapshots are not used.
 */
function snapshotCheckLines() {
  const tryBlob = (blob) => `${node} ${flags} --snapshot-blob ${quote(blob)} -- ${quote(E.BUNDLE)} --version >/dev/null 2>&1`;
  const newer = (file) => `[ "${file}" -nt ${quote(E.READ_BLOB)} ] && [ "${file}" -nt ${quote(E.FULL_BLOB)} ]`;
  return [
    'snapshot=',
    `if [ ${node} -ef ${quote(E.NODE_REF)} ]; then`,
    `  if [ -w /run ]; then verdict=/run/tsrun-snapshot-${installKey}`,
    `  elif [ -n "\${XDG_RUNTIME_DIR:-}" ] && [ -w "$XDG_RUNTIME_DIR" ]; then verdict=$XDG_RUNTIME_DIR/tsrun-snapshot-${installKey}`,
    '  else verdict=; fi',
    '  if [ -z "$verdict" ]; then :',
    `  elif ${newer('$verdict.ok')}; then snapshot=1`,
    `  elif ${newer('$verdict.bad')}; then :`,
    `  elif ${tryBlob(E.READ_BLOB)} && ${tryBlob(E.FULL_BLOB)}; then snapshot=1; : >"$verdict.ok" 2>/dev/null`,
    '  else : >"$verdict.bad" 2>/dev/null; fi',
    'fi',
  ];
}

/** What node runs for a bundle: from its code cache when the build made one. */
function startOf(file, cache) {
  return fs.existsSync(cache) ? `${quote(E.CACHED_START)} ${quote(file)} ${quote(cache)}` : quote(file);
}

function execLines() {
  const entry = fs.existsSync(E.BUNDLE) ? E.BUNDLE : E.PLAIN_MAIN;
  const run = `exec ${node} ${flags} ${quote(entry)} "$@"`;
  const createStart = entry === E.BUNDLE ? startOf(E.BUNDLE, E.CREATE_CACHE) : quote(entry);
  const create = [`if [ "$verb" = create ]; then`, `  exec ${node} ${flags} ${CREATE_FLAGS} ${createStart} "$@"`, 'fi'];
  const cached = CACHED_VERBS.filter((c) => fs.existsSync(c.bundle) && fs.existsSync(c.cache)).map(
    (c) => `case "$verb" in ${c.verbs}) exec ${node} ${flags} ${startOf(c.bundle, c.cache)} "$@" ;; esac`,
  );
  if (![E.READ_BLOB, E.FULL_BLOB, E.NODE_REF].every((f) => fs.existsSync(f))) return [...FIND_VERB, ...create, ...cached, run];
  return [
    ...FIND_VERB,
    ...create,
    ...cached,
    '# The snapshots fit only the node binary they were built by (node.ref is a hard link to it)',
    '# and a V8 configuration that can differ between machines.',
    ...snapshotCheckLines(),
    'if [ -n "$snapshot" ]; then',
    `  case "$verb" in ${READ_VERBS}) blob=${quote(E.READ_BLOB)} ;; *) blob=${quote(E.FULL_BLOB)} ;; esac`,
    `  exec ${node} ${flags} --snapshot-blob "$blob" -- ${quote(E.BUNDLE)} "$@"`,
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
    `unset ${E.NODE_STARTUP_VARIABLES.join(' ')}`,
    ...execLines(),
    '',
  ].join('\n'),
  { mode: 0o755 },
);
