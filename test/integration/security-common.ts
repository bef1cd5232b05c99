// Shared by security.test.ts and escapes.test.ts: capability masks computed
// from names (the kernel's numbers, written out here rather than taken from
// the code under test), /proc/<pid>/status parsing, bundles written by
// `tsrun spec` itself, and the check that a refused config left nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import type { Spec } from '../../src/spec/types';
import { TSRUN, liveProcessesMentioning, mountsUnder, type Bundle } from '../helpers/harness';
import { cgroupDirsOf } from '../helpers/session';
import { clip, type Fixture, type Ran } from './isolation-common';

/** include/uapi/linux/capability.h */
export const CAP_NUMBERS: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_FOWNER: 3,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
  CAP_MKNOD: 27,
  CAP_AUDIT_WRITE: 29,
  CAP_SETFCAP: 31,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
};

/** The 16-hex-digit mask /proc/<pid>/status shows for a set of capability names. */
export function capMask(names: string[]): string {
  let mask = 0n;
  for (const name of names) {
    const n = CAP_NUMBERS[name];
    if (n === undefined) throw new Error(`test table lacks ${name}`);
    mask |= 1n << BigInt(n);
  }
  return mask.toString(16).padStart(16, '0');
}

/** "Key:\tvalue" lines (as /proc/<pid>/status) into a map. */
export function statusFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim();
  }
  return out;
}

export const CAP_FIELDS = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'] as const;

/** The five capability fields of a status text. */
export function capFields(text: string): Record<string, string> {
  const f = statusFields(text);
  return Object.fromEntries(CAP_FIELDS.map((k) => [k, f[k]]));
}

/**
 * A bundle whose config.json is what `tsrun spec` writes (runc's defaults),
 * then given `args`, no terminal, and `mutate`.
 */
export function specBundle(fx: Fixture, args: string[], mutate?: (spec: Spec) => void): Bundle {
  const bundle = fx.bundle(['true']);
  rmSync(bundle.configPath);
  const r = spawnSync(TSRUN, ['spec', '--bundle', bundle.dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsrun spec: ${r.stderr}`);
  const spec = JSON.parse(readFileSync(bundle.configPath, 'utf8')) as Spec;
  spec.process!.terminal = false;
  spec.process!.args = args;
  mutate?.(spec);
  bundle.writeConfig(spec);
  return bundle;
}

/**
 * A run that must be refused: exit 1, one line on stderr holding each of
 * `words`, and - checked now, before any cleanup could hide it - no state
 * dir, mount, process or cgroup.
 */
export function assertRefused(fx: Fixture, bundle: Bundle, r: Ran, ...words: string[]): void {
  assert.equal(r.status, 1, `exit status ${r.status}, stderr ${clip(r.stderr)}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected: ${clip(r.stderr)}`);
  for (const w of words) assert.ok(lines[0].includes(w), `${clip(lines[0])} should mention ${w}`);
  assert.equal(r.stdout, '', 'the program must not have run');
  assert.deepEqual(fx.runtime.leftoverStateDirs(), [], 'state dir left');
  assert.deepEqual(mountsUnder(bundle.dir), [], 'mounts left');
  assert.deepEqual(liveProcessesMentioning(fx.runtime.root), [], 'tsrun processes left');
  assert.deepEqual(cgroupDirsOf(r.id), [], 'cgroup left');
  if (r.pid > 0) assert.ok(!existsPid(r.pid), `process ${r.pid} left`);
}

function existsPid(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/** A host file's contents, or undefined when absent. */
export function readHost(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
