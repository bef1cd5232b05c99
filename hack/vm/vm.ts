// Boots a throwaway Linux VM (qemu) that sees the host's / read-only and
// runs one job in it, on one of two kinds of host:
//  - "minimal": no init system; a pure cgroup v2 hierarchy with nsdelegate;
//    the job runs in the root cgroup;
//  - "systemd": Debian's systemd as PID 1 (cgroup v2 only, system.slice,
//    user.slice, D-Bus, logind); the job runs, as a root login shell would,
//    in the leaf scope /user.slice/user-0.slice/session-1.scope.
// The job is a shell script; it runs with a time limit, its output and exit
// status come back through a directory shared with the host (the only place
// the guest writes to). A guest that does not boot, or a job that overruns,
// is an error carrying the console log's path and its last lines.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestScript, type VmImage } from './image';

export type VmMode = 'minimal' | 'systemd';
export type Accel = 'kvm' | 'tcg';

export interface VmRun {
  mode: VmMode;
  /** The job: shell script text, run by /bin/sh in the guest. */
  job: string;
  /** Seconds the job may take once the guest has booted. */
  timeoutSec: number;
  accel: Accel;
  memoryMiB?: number;
  cpus?: number;
  /** A scratch virtio disk of this many MiB (/dev/vda in the guest), for io limits. */
  diskMiB?: number;
  /** Called with each chunk of the guest's console. */
  onConsole?: (chunk: Buffer) => void;
  /** The guest's init (default: the mode's script in guest/); the rig's self-check names one that does not exist. */
  init?: string;
  /** Called with the shared directory before the guest boots (job.log grows there as the job runs). */
  onStart?: (share: string) => void;
}

export interface VmResult {
  /** The job's exit status (124 when it overran its time in the guest). */
  status: number;
  /** What the job printed. */
  output: string;
  /** Directory shared with the guest: job.sh, job.log, status, console.log. */
  share: string;
  seconds: number;
}

/** Seconds a guest may take to boot and to power off under TCG (boots take ~5 s, systemd ~10 s). */
const BOOT_ALLOWANCE_SEC = 120;

export class VmError extends Error {}

export async function runInVm(image: VmImage, run: VmRun): Promise<VmResult> {
  const share = mkdtempSync(join(tmpdir(), `tsrun-vm-${run.mode}-`));
  writeFileSync(join(share, 'job.sh'), run.job);
  writeFileSync(join(share, 'timeout'), String(run.timeoutSec));
  copyFileSync(guestScript('run-job.sh'), join(share, 'run-job.sh'));
  run.onStart?.(share);
  const started = Date.now();
  const exit = await runQemu(qemuArgs(image, run, share), join(share, 'console.log'), (run.timeoutSec + BOOT_ALLOWANCE_SEC) * 1000, run.onConsole);
  const seconds = (Date.now() - started) / 1000;
  const statusFile = join(share, 'status');
  if (!existsSync(statusFile)) {
    const booted = existsSync(join(share, 'booted'));
    const why = exit.timedOut ? `killed after ${seconds.toFixed(0)} s` : `qemu exited ${exit.code ?? exit.signal}`;
    throw new VmError(
      `vm (${run.mode}): ${booted ? 'the job never finished' : 'the guest did not boot'} (${why}); console log: ${join(share, 'console.log')}\n${lastLines(join(share, 'console.log'), 25)}`,
    );
  }
  const output = existsSync(join(share, 'job.log')) ? readFileSync(join(share, 'job.log'), 'utf8') : '';
  return { status: Number(readFileSync(statusFile, 'utf8').trim()), output, share, seconds };
}

function qemuArgs(image: VmImage, run: VmRun, share: string): string[] {
  const init = run.init ?? guestScript(run.mode === 'minimal' ? 'minimal-init.sh' : 'systemd-init.sh');
  const cmdline = [
    'console=ttyS0',
    'panic=-1',
    'quiet',
    // cgroup v2 only, as current distributions boot.
    'cgroup_no_v1=all',
    'systemd.unified_cgroup_hierarchy=1',
    // For the hugetlb limits: 2 MiB pages to charge.
    'hugepages=32',
    `tsrun.init=${init}`,
  ];
  const args = [
    ...accelArgs(run.accel),
    '-m', String(run.memoryMiB ?? 4096),
    '-smp', String(run.cpus ?? 2),
    ...(run.mode === 'minimal' ? twoNumaNodes(run.memoryMiB ?? 4096, run.cpus ?? 2) : []),
    '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio',
    '-kernel', image.vmlinux,
    '-initrd', image.initramfs,
    '-append', cmdline.join(' '),
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${share},mount_tag=vmshare,security_model=none,multidevs=remap`,
  ];
  if (run.diskMiB) {
    const disk = join(share, 'disk.img');
    writeFileSync(disk, '');
    spawnSync('truncate', ['-s', `${run.diskMiB}M`, disk]);
    args.push('-drive', `file=${disk},format=raw,if=virtio,cache=unsafe`);
  }
  return args;
}

/**
 * The minimal guest is a two-node NUMA machine (the project's hosts have one
 * node): memory and CPUs split in halves, so a memory policy over nodes 0-1
 * can be seen applied (test/integration/numa-nodes.test.ts).
 */
function twoNumaNodes(memoryMiB: number, cpus: number): string[] {
  const half = Math.floor(memoryMiB / 2);
  const cpuRange = (first: number, last: number): string => (first === last ? `${first}` : `${first}-${last}`);
  const split = Math.max(1, Math.floor(cpus / 2));
  return [
    '-object', `memory-backend-ram,id=node0,size=${half}M`,
    '-object', `memory-backend-ram,id=node1,size=${memoryMiB - half}M`,
    '-numa', `node,nodeid=0,memdev=node0,cpus=${cpuRange(0, split - 1)}`,
    '-numa', `node,nodeid=1,memdev=node1${cpus > 1 ? `,cpus=${cpuRange(split, cpus - 1)}` : ''}`,
  ];
}

function accelArgs(accel: Accel): string[] {
  return accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
}

interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

function runQemu(args: string[], consoleLog: string, timeoutMs: number, onConsole?: (chunk: Buffer) => void): Promise<QemuExit> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(consoleLog);
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      qemu.kill('SIGKILL');
    }, timeoutMs);
    const take = (chunk: Buffer): void => {
      log.write(chunk);
      onConsole?.(chunk);
    };
    qemu.stdout.on('data', take);
    qemu.stderr.on('data', take);
    qemu.once('error', (err) => {
      clearTimeout(timer);
      reject(new VmError(`vm: cannot start qemu-system-x86_64 (install Debian's qemu-system-x86): ${err.message}`));
    });
    qemu.once('close', (code, signal) => {
      clearTimeout(timer);
      log.end(() => resolve({ code, signal, timedOut }));
    });
  });
}

/**
 * KVM when it boots a kernel here, else TCG. TSRUN_VM_ACCEL=kvm|tcg forces
 * one. Some hosts offer a /dev/kvm that cannot run this kernel (a nested
 * PVM device fails at once with "failed to set MSR", or hangs in the boot):
 * a probe boot that must power off within 20 s decides.
 */
export async function chooseAccel(image: VmImage): Promise<Accel> {
  const forced = process.env.TSRUN_VM_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (!existsSync('/dev/kvm')) return 'tcg';
  const share = mkdtempSync(join(tmpdir(), 'tsrun-vm-probe-'));
  const args = [...accelArgs('kvm'), '-m', '256', '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio', '-kernel', image.vmlinux, '-initrd', image.initramfs, '-append', 'console=ttyS0 panic=-1 tsrun.probe'];
  try {
    await runQemu(args, join(share, 'console.log'), 20000);
    return readFileSync(join(share, 'console.log'), 'utf8').includes('tsrun-vm: probe ok') ? 'kvm' : 'tcg';
  } finally {
    rmSync(share, { recursive: true, force: true });
  }
}

function lastLines(path: string, n: number): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '(no console output)';
  }
}
