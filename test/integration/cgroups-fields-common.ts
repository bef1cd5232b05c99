// The runner behind cgroups-fields.test.ts: one linux.resources field (or
// group) taken through create, `tsrun update` and delete, checking after
// each step either the cgroup files it must have set or that tsrun refused
// it with one line naming the field. Plus the few facts about the machine
// the table needs (the disk's numbers, an RDMA device), and the setup the
// project's throwaway VM allows (BFQ, soft-RoCE) and no other host gets.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { LinuxResources, Spec } from '../../src/spec/types';
import type { Session } from '../helpers/session';
import { cgroupDirs, cgroupLeftovers, dirOf, isCgroupV2, keyValues, readCg } from './cgroups-common';

export const V2 = isCgroupV2();
export const MiB = 1024 * 1024;
/** What a v1 *_limit_in_bytes file reads when unlimited (PAGE_COUNTER_MAX pages). */
export const V1_UNLIMITED = '9223372036854771712';

/** File -> expected content. "FILE:KEY" takes KEY's value from a key/value file (memory.oom_control). */
export type Files = Record<string, string>;

/** A shell command run in the container with `tsrun exec`, and what its output must match. */
export interface Inside {
  cmd: string;
  output: RegExp;
}

/**
 * What one step must give: the files (applied), a one-line refusal naming
 * the field, or - where a kernel may or may not have the file - either.
 */
export type Outcome =
  | { files: Files; inside?: Inside }
  | { refused: RegExp }
  | { refused: RegExp; orFiles: Files };

/** An outcome, or a function of the container id when it depends on what the container's cgroup offers. */
export type Expect = Outcome | ((id: string) => Outcome);

export interface FieldCase {
  name: string;
  create: LinuxResources;
  /** Config changes beyond resources (devices, mounts). */
  mutate?: (spec: Spec) => void;
  /** Per cgroup version (byVersion). */
  expect: Expect;
  updates?: { resources: LinuxResources; expect: Expect }[];
}

/** Picks the outcome for this host's cgroup version. */
export function byVersion(v1: Outcome, v2: Outcome): Outcome {
  return V2 ? v2 : v1;
}

/** The v1 controller holding a file: its name up to the first dot. */
function controllerOf(file: string): string {
  return file.slice(0, file.indexOf('.'));
}

function readExpected(id: string, spec: string): string {
  const [file, key] = spec.split(':');
  const text = readCg(id, controllerOf(file), file);
  return key === undefined ? text : String(keyValues(text)[key]);
}

function assertFiles(id: string, files: Files, when: string): void {
  for (const [spec, want] of Object.entries(files)) {
    assert.equal(readExpected(id, spec), want, `${when}: ${spec}`);
  }
}

function assertRefusal(stderr: string, refused: RegExp, when: string): void {
  const message = stderr.trim();
  assert.ok(!message.includes('\n'), `${when}: a refusal is one line, got:\n${message}`);
  assert.match(message, /^tsrun: config\.json: \/linux\/resources\//, `${when}: the refusal names no field`);
  assert.match(message, refused, when);
}

/** Files the outcome says were written: undefined when tsrun refused. */
function checkOutcome(s: Session, id: string, r: { status: number | null; stderr: string }, outcome: Outcome, when: string): Files | undefined {
  if ('files' in outcome) {
    assert.equal(r.status, 0, `${when}: ${r.stderr}`);
    assertFiles(id, outcome.files, when);
    if (outcome.inside) runInside(s, id, outcome.inside, when);
    return outcome.files;
  }
  if ('orFiles' in outcome && r.status === 0) {
    assertFiles(id, outcome.orFiles, `${when} (applied)`);
    return outcome.orFiles;
  }
  assert.notEqual(r.status, 0, `${when}: tsrun accepted what it must refuse`);
  assertRefusal(r.stderr, outcome.refused, when);
  return undefined;
}

function runInside(s: Session, id: string, inside: Inside, when: string): void {
  if (s.state(id).status === 'created') s.ok(['start', id]);
  // The status is the command's (a shell whose fork failed exits 2): the output says what happened.
  const r = s.exec(['exec', id, 'sh', '-c', `{ ${inside.cmd}; } 2>&1`], { timeoutMs: 120000 });
  assert.match(r.stdout, inside.output, `${when}: inside the container (exec ${r.status}: ${r.stdout} ${r.stderr})`);
}

const resolve = (o: Expect, id: string): Outcome => (typeof o === 'function' ? o(id) : o);

/**
 * Creates a container with the case's resources, checks the files, applies
 * each update (a refused one must leave the previous values), deletes it
 * and checks that nothing of its cgroup is left.
 */
export async function runFieldCase(s: Session, c: FieldCase, scratch: string): Promise<void> {
  const bundle = s.bundle(['sleep', '100000'], (spec) => {
    spec.linux!.resources = { ...spec.linux!.resources, ...c.create };
    c.mutate?.(spec);
  });
  const id = s.id('cgf');
  const created = s.exec(['create', '--bundle', bundle.dir, id]);
  if (created.status === 0) s.track(s.state(id).pid);
  let files = checkOutcome(s, id, created, resolve(c.expect, id), 'create');
  if (files !== undefined) {
    for (const [i, u] of (c.updates ?? []).entries()) {
      const when = `update ${i + 1} ${JSON.stringify(u.resources)}`;
      const path = join(scratch, `${id}-${i}.json`);
      writeFileSync(path, JSON.stringify(u.resources));
      const r = s.exec(['update', '--resources', path, id]);
      const now = checkOutcome(s, id, r, resolve(u.expect, id), when);
      if (now === undefined) assertFiles(id, files, `${when} was refused, so the values before it stay`);
      files = now ?? files;
    }
    const del = s.exec(['delete', '--force', id], { timeoutMs: 60000 });
    assert.equal(del.status, 0, del.stderr);
  }
  assert.deepEqual(await cgroupLeftovers(id), []);
  assert.deepEqual(s.rootEntries(), [], 'state left behind');
}

/** "MAJ:MIN" of the machine's first virtio/SCSI disk (the VM's scratch /dev/vda). */
export function diskNumbers(): { name: string; major: number; minor: number } {
  const name = ['vda', 'sda', 'nvme0n1', 'xvda'].find((n) => existsSync(`/sys/block/${n}/dev`));
  if (!name) throw new Error('no disk in /sys/block');
  const [major, minor] = readFileSync(`/sys/block/${name}/dev`, 'utf8').trim().split(':').map(Number);
  return { name, major, minor };
}

/** Whether this process may read the device node (this host's devices cgroup denies its own disk). */
export function canRead(path: string): boolean {
  try {
    closeSync(openSync(path, 'r'));
    return true;
  } catch {
    return false;
  }
}

/**
 * The project's VM (hack/vm): booted with tsrun.init= on its command line.
 * A throwaway guest, so the tests may load modules and change the disk's
 * scheduler there; on any other host they only read.
 */
export function inThrowawayVm(): boolean {
  return readFileSync('/proc/cmdline', 'utf8').includes('tsrun.init=');
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
}

/**
 * In the throwaway VM: BFQ on the disk (per-device weights need it; the
 * guest boots with none), and a soft-RoCE device on loopback for rdma.max.
 */
export function setUpThrowawayVm(disk: string): void {
  if (!inThrowawayVm()) return;
  if (!readFileSync(`/sys/block/${disk}/queue/scheduler`, 'utf8').includes('[bfq]')) {
    run('modprobe', ['bfq']);
    writeFileSync(`/sys/block/${disk}/queue/scheduler`, 'bfq');
  }
  if (rdmaDevices().length === 0) {
    run('modprobe', ['rdma_rxe']);
    run('rdma', ['link', 'add', 'rxe0', 'type', 'rxe', 'netdev', 'lo']);
  }
}

export function rdmaDevices(): string[] {
  return existsSync('/sys/class/infiniband') ? readdirSync('/sys/class/infiniband') : [];
}

/**
 * Whether the container's cgroup has `file` (for a file that only some
 * kernels or schedulers give, e.g. io.bfq.weight): asked after create, so a
 * refused create (no directory) expects the refusal.
 */
export function containerHas(id: string, file: string): boolean {
  try {
    return existsSync(posix.join(dirOf(id, controllerOf(file)), file));
  } catch {
    return false;
  }
}

/** Whether our own v1 cgroup for `controller` has `file` (what its children get too). */
export function ownV1Has(controller: string, file: string): boolean {
  const dir = cgroupDirs('').get(controller);
  return dir !== undefined && existsSync(posix.join(dir, file));
}
