// The VM test suite: the integration tests whose outcome depends on the
// host's cgroup layout or init system, run inside the two kinds of host this
// machine is not (`npm run test:vm`, after hack/vm/setup.sh):
//  - minimal: cgroup v2 only, no init system, tests run in the root cgroup;
//  - systemd: systemd as PID 1, cgroup v2 only, tests run in a leaf scope
//    (/user.slice/user-0.slice/session-1.scope) as from a root login shell.
// Mocha's output streams as it comes; the suite ends with one line per guest
// and a total, "vm: N passed, N failed, N skipped". A guest that does not
// boot, or a job that overruns, counts as a failure and its console log is
// kept (the path is printed). Exit status 0 only when everything passed.
//
//   node dist/hack/vm/test-suite.js [minimal] [systemd]     default: both
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildImage, type VmImage } from './image';
import { chooseAccel, runInVm, VmError, type Accel, type VmMode } from './vm';

const REPO = resolve(__dirname, '..', '..', '..');

/** Which compiled test files each guest runs (relative to dist/test/integration). */
export const VM_SUITES: Record<VmMode, string[]> = {
  minimal: ['cgroups-limits', 'cgroups-ops', 'cgroups-placement', 'cgroups-fields', 'cgroup-mount', 'ebpf-devices', 'systemd-cgroup', 'podman', 'rootless', 'numa-nodes'],
  systemd: ['cgroups-placement', 'cgroups-limits', 'systemd-cgroup', 'podman', 'rootless'],
};

/**
 * Seconds each guest's tests may run (TCG runs everything ~10x slower than
 * the host): the minimal guest's ~12 minutes on a quiet machine took over 20
 * on one loaded by other work, so the limit is for hangs, not for speed.
 */
const JOB_TIMEOUT_SEC = 30 * 60;

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Mocha's spec reporter ends with "  N passing", "  N failing", "  N pending". */
export function mochaCounts(output: string): Counts | undefined {
  const count = (word: string): number | undefined => {
    const all = [...output.matchAll(new RegExp(`^ +(\\d+) ${word}\\b`, 'gm'))];
    return all.length ? Number(all[all.length - 1][1]) : undefined;
  };
  const passed = count('passing');
  if (passed === undefined) return undefined;
  return { passed, failed: count('failing') ?? 0, skipped: count('pending') ?? 0 };
}

function jobScript(mode: VmMode, files: string[]): string {
  const specs = files.map((f) => `dist/test/integration/${f}.test.js`);
  return [
    'set -u',
    `cd '${REPO}' || exit 125`,
    // Node would parse the whole CA bundle at each start: ~40 ms, x10 under TCG.
    'unset NODE_EXTRA_CA_CERTS',
    `export TSRUN_VM_MODE=${mode}`,
    'echo "guest: $(uname -r), cgroup $(stat -fc %T /sys/fs/cgroup), PID 1 $(cat /proc/1/comm), in $(cat /proc/self/cgroup)"',
    'ulimit -n 1048576 2>/dev/null',
    `exec node node_modules/.bin/mocha --no-config --timeout 300000 --reporter spec ${specs.join(' ')}`,
    '',
  ].join('\n');
}

async function runGuest(image: VmImage, accel: Accel, mode: VmMode): Promise<Counts> {
  // TSRUN_VM_ONLY=a,b narrows a guest's list, for trying one suite by hand.
  const only = process.env.TSRUN_VM_ONLY?.split(',');
  const files = VM_SUITES[mode].filter((f) => !only || only.includes(f));
  process.stdout.write(`\n=== vm ${mode} (${accel}): ${files.join(', ')}\n`);
  let follower: LogFollower | undefined;
  try {
    const result = await runInVm(image, {
      mode,
      accel,
      job: jobScript(mode, files),
      timeoutSec: JOB_TIMEOUT_SEC,
      diskMiB: 64,
      onStart: (share) => {
        follower = new LogFollower(join(share, 'job.log'));
      },
    });
    follower?.stop();
    const counts = mochaCounts(result.output);
    process.stdout.write(`=== vm ${mode}: job exited ${result.status} after ${result.seconds.toFixed(0)} s\n`);
    if (!counts) {
      process.stdout.write(`vm ${mode}: no mocha summary; files kept in ${result.share}\n`);
      return { passed: 0, failed: 1, skipped: 0 };
    }
    if (result.status === 0 && counts.failed === 0) rmSync(result.share, { recursive: true, force: true });
    else process.stdout.write(`vm ${mode}: files kept in ${result.share}\n`);
    // Mocha exiting non-zero with no failing test counted: it died on the way.
    return result.status !== 0 && counts.failed === 0 ? { ...counts, failed: 1 } : counts;
  } catch (err) {
    follower?.stop();
    if (!(err instanceof VmError)) throw err;
    process.stdout.write(`${err.message}\n`);
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

/** Prints what the guest appends to its job log (the log is on the shared directory) while it runs. */
class LogFollower {
  private offset = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly path: string) {
    this.timer = setInterval(() => this.drain(), 1000);
  }

  private drain(): void {
    if (!existsSync(this.path) || statSync(this.path).size <= this.offset) return;
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(statSync(this.path).size - this.offset);
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      process.stdout.write(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.drain();
  }
}

/**
 * The rig's own failure paths, counted with the tests: a job that overruns
 * is stopped at its time limit (status 124 from the guest), and a guest that
 * cannot boot fails loudly with its console log kept, rather than hanging or
 * passing for want of tests.
 */
async function rigSelfChecks(image: VmImage, accel: Accel): Promise<Counts> {
  const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  const check = (name: string, ok: boolean, detail: string): void => {
    process.stdout.write(`  ${ok ? '✔' : '✘'} rig: ${name}${ok ? '' : `: ${detail}`}\n`);
    if (ok) counts.passed++;
    else counts.failed++;
  };
  process.stdout.write('\n=== vm rig self-checks\n');
  const hung = await runInVm(image, { mode: 'minimal', accel, job: 'echo started; sleep 3600\n', timeoutSec: 5 });
  check('a job past its time limit is killed, status 124', hung.status === 124 && hung.output.includes('started'), `status ${hung.status}, output ${JSON.stringify(hung.output)}`);
  rmSync(hung.share, { recursive: true, force: true });
  try {
    await runInVm(image, { mode: 'minimal', accel, job: 'true\n', timeoutSec: 5, init: '/nonexistent/init' });
    check('a guest that cannot boot is an error', false, 'it reported a status');
  } catch (err) {
    const message = (err as Error).message;
    const log = /console log: (\S+)/.exec(message)?.[1];
    const kept = log !== undefined && existsSync(log) && statSync(log).size > 0;
    check('a guest that cannot boot is an error naming its kept console log', /did not boot/.test(message) && kept, message.split('\n')[0]);
    if (log) rmSync(join(log, '..'), { recursive: true, force: true });
  }
  return counts;
}

async function main(argv: string[]): Promise<number> {
  const modes = (argv.length ? argv : ['minimal', 'systemd']) as VmMode[];
  for (const m of modes) {
    if (!(m in VM_SUITES)) {
      process.stderr.write(`test-suite: unknown guest "${m}" (minimal, systemd)\n`);
      return 2;
    }
  }
  const work = mkdtempSync(join(tmpdir(), 'tsrun-vm-image-'));
  const started = Date.now();
  try {
    const image = buildImage(work);
    const accel = await chooseAccel(image);
    process.stdout.write(`vm: kernel ${image.kernelVersion}, ${accel}\n`);
    const total = await rigSelfChecks(image, accel);
    const lines: string[] = [`vm rig: ${total.passed} passed, ${total.failed} failed, 0 skipped`];
    for (const mode of modes) {
      const c = await runGuest(image, accel, mode);
      lines.push(`vm ${mode}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
      total.passed += c.passed;
      total.failed += c.failed;
      total.skipped += c.skipped;
    }
    process.stdout.write(`\n${lines.join('\n')}\nvm suite took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    process.stdout.write(`vm: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
    return total.failed === 0 ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`vm: ${err.message}\n`);
      process.stdout.write('vm: 0 passed, 1 failed, 0 skipped\n');
      process.exit(1);
    },
  );
}
