// Rules of runtime-spec v1.3 that a JSON Schema cannot express (or that the
// shared schema leaves out because the document format also serves Windows),
// checked after schema validation. Each failure is a ConfigError whose pointer
// names the offending field. Linux-section rules are in semantic-linux.ts.
//
// Only cheap, local checks belong here: things the spec says MUST hold and
// that we can see from the document and one stat() of the rootfs. Anything
// that needs the kernel (does this capability exist, is this a namespace
// file) is left to the code that applies it.

import { parseCpuList } from '../linux/kernel-list';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail, pointer, requireAbsolute, requireNonEmptyKeys, requireProperty } from './check-util';
import { LINUX_RLIMITS } from './rlimits';
import { checkLinux, hasNamespace } from './semantic-linux';
import { checkMountOptions } from './semantic-mounts';
import type { Hooks, Mount, Process, Spec } from './types';

/** SemVer 2.0.0: MAJOR.MINOR.PATCH, optional -prerelease and +build. */
const NUM = '(?:0|[1-9][0-9]*)';
const PRE_ID = '(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)';
const BUILD_ID = '[0-9A-Za-z-]+';
const SEMVER = new RegExp(
  `^${NUM}\\.${NUM}\\.${NUM}(?:-${PRE_ID}(?:\\.${PRE_ID})*)?(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?$`,
);

const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;

/**
 * Absolute path of the container's root filesystem: root.path as given when
 * absolute, otherwise relative to the bundle directory (config.md "Root").
 */
export function resolveRootfs(spec: Spec, bundleDir: string): string {
  if (spec.root === undefined) fail('', "must have required property 'root'");
  return path.resolve(bundleDir, spec.root.path);
}

/** Throws ConfigError on the first rule that `spec` (already schema-valid) breaks. */
export function checkSemantics(spec: Spec, bundleDir: string): void {
  if (!SEMVER.test(spec.ociVersion)) {
    fail('/ociVersion', `must be a SemVer 2.0.0 version such as "1.3.0", got ${JSON.stringify(spec.ociVersion)}`);
  }
  // A config for a virtual-machine runtime (kata): running it in namespaces
  // instead would not be what its author asked for.
  if ((spec as { vm?: unknown }).vm !== undefined) fail('/vm', 'tsrun runs containers in namespaces, not in virtual machines: use a VM-based runtime');
  checkRoot(spec, bundleDir);
  spec.mounts?.forEach((m, i) => checkMount(spec, m, pointer('mounts', i)));
  if (spec.process !== undefined) checkProcess(spec.process);
  checkUts(spec);
  if (spec.hooks !== undefined) checkHooks(spec.hooks);
  requireNonEmptyKeys(spec.annotations, '/annotations');
  if (spec.linux !== undefined) checkLinux(spec.linux);
}

// config.md: root is REQUIRED on every platform but Windows, and "a directory
// MUST exist at the path declared by the field".
function checkRoot(spec: Spec, bundleDir: string): void {
  const rootfs = resolveRootfs(spec, bundleDir);
  let st: fs.Stats;
  try {
    st = fs.statSync(rootfs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    fail('/root/path', `cannot use ${rootfs}: ${code === 'ENOENT' ? 'no such directory' : code}`);
  }
  if (!st.isDirectory()) fail('/root/path', `${rootfs} is not a directory`);
}

function checkMount(spec: Spec, m: Mount, ptr: string): void {
  // Linux still allows relative destinations (deprecated, read as relative to
  // "/"); the spec lets a runtime support a subset of valid values, and tsrun
  // refuses them rather than guess what an old tool meant.
  requireAbsolute(m.destination, `${ptr}/destination`);
  const hasUid = (m.uidMappings?.length ?? 0) > 0;
  const hasGid = (m.gidMappings?.length ?? 0) > 0;
  if (hasUid && !hasGid) fail(ptr, "must have required property 'gidMappings' (uidMappings needs it)");
  if (hasGid && !hasUid) fail(ptr, "must have required property 'uidMappings' (gidMappings needs it)");
  for (const key of ['uidMappings', 'gidMappings'] as const) {
    m[key]?.forEach((map, i) => {
      if (map.size === 0) fail(`${ptr}/${key}/${i}/size`, 'must be greater than 0');
    });
  }
  // idmap/ridmap without mappings borrow the container's user namespace
  // mapping; with no user namespace the spec requires an error.
  const idmapIndex = (m.options ?? []).findIndex((o) => o === 'idmap' || o === 'ridmap');
  if (idmapIndex >= 0 && !hasUid && !hasNamespace(spec.linux, 'user')) {
    fail(
      `${ptr}/options/${idmapIndex}`,
      `"${m.options?.[idmapIndex]}" needs uidMappings and gidMappings on the mount or a user namespace`,
    );
  }
  // An id mapping is given to a detached copy of a directory tree (open_tree
  // and mount_setattr): only a bind mount is one, as runc too requires.
  const isBind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
  if (!isBind && (idmapIndex >= 0 || hasUid)) {
    const what = idmapIndex >= 0 ? `"${m.options?.[idmapIndex]}"` : 'an id mapping';
    fail(idmapIndex >= 0 ? `${ptr}/options/${idmapIndex}` : `${ptr}/uidMappings`, `${what} is only supported on bind mounts (type "bind" or option "bind"/"rbind")`);
  }
  checkMountOptions(m, ptr);
}

function checkProcess(p: Process): void {
  requireAbsolute(p.cwd, '/process/cwd');
  // args: "at least one entry is REQUIRED (non-Windows)".
  requireProperty(p, 'args', '/process');
  if (p.args?.length === 0) fail('/process/args', 'must contain at least one entry');
  // user.uid/gid are REQUIRED on POSIX; the schema cannot say so because
  // Windows configs use user.username instead.
  requireProperty(p, 'user', '/process');
  requireProperty(p.user, 'uid', '/process/user');
  requireProperty(p.user, 'gid', '/process/user');

  for (const when of ['initial', 'final'] as const) {
    const cpus = p.execCPUAffinity?.[when];
    if (cpus === undefined || cpus.trim() === '') continue;
    try {
      parseCpuList(cpus);
    } catch (err) {
      fail(pointer('process', 'execCPUAffinity', when), (err as Error).message);
    }
  }

  const seen = new Map<string, number>();
  p.rlimits?.forEach((r, i) => {
    const ptr = pointer('process', 'rlimits', i);
    if (!Object.prototype.hasOwnProperty.call(LINUX_RLIMITS, r.type)) fail(`${ptr}/type`, `unknown rlimit "${r.type}"`);
    const prev = seen.get(r.type);
    if (prev !== undefined) fail(`${ptr}/type`, `duplicate rlimit "${r.type}" (first at index ${prev})`);
    seen.set(r.type, i);
    // setrlimit(2) refuses soft > hard, so the MUST-match rule could never hold.
    if (r.soft > r.hard) fail(`${ptr}/soft`, `must not be greater than hard (${r.hard})`);
  });

  // /proc/<pid>/oom_score_adj accepts -1000..1000 only.
  if (p.oomScoreAdj !== undefined && (p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000)) {
    fail('/process/oomScoreAdj', 'must be between -1000 and 1000');
  }
  if (p.ioPriority !== undefined) {
    requireProperty(p.ioPriority, 'priority', '/process/ioPriority');
    if (p.ioPriority.priority < 0 || p.ioPriority.priority > 7) {
      fail('/process/ioPriority/priority', 'must be between 0 (highest) and 7 (lowest)');
    }
  }
}

// Setting a hostname without a UTS namespace of the container's own would
// rename the host (runc refuses this too).
function checkUts(spec: Spec): void {
  for (const key of ['hostname', 'domainname'] as const) {
    if (spec[key] !== undefined && spec[key] !== '' && !hasNamespace(spec.linux, 'uts')) {
      fail(`/${key}`, 'needs a "uts" entry in /linux/namespaces');
    }
  }
}

function checkHooks(hooks: Hooks): void {
  for (const kind of HOOK_KINDS) {
    hooks[kind]?.forEach((h, i) => requireAbsolute(h.path, pointer('hooks', kind, i, 'path')));
  }
}
