// "The systemd host under test" of the --systemd-cgroup tests: where a real
// systemd runs and tsrun asks it for scopes. Either this machine itself,
// when systemd is its init (the systemd VM), or systemd booted as the init
// of a tsrun container (helpers/systemd-container.ts), on machines whose
// init is something else. The tests are written once against SystemdHost.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BUSYBOX_ROOTFS, tempDir } from './harness';
import { defaultSpec } from '../../src/spec/default-spec';
import type { Spec } from '../../src/spec/types';
import type { Session } from './session';
import { runCommand } from './engines';

/** What a command there printed and how it ended. */
export interface HostOutput {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  /** NAME=value entries added to the command's environment. */
  env?: string[];
}

export interface SystemdHost {
  /** A directory the host sees at the same path as this process: inner bundles, podman's files. */
  readonly work: string;
  /** Makes it ready (boots systemd if it is ours to boot). */
  boot(): Promise<void>;
  /** Runs a command there as root. */
  run(command: string[], options?: RunOptions): HostOutput;
  /** Runs the repository's tsrun there with its own state root. */
  tsrun(args: string[], timeoutMs?: number): HostOutput;
  /** Removes every container tsrun made there and everything the host made for the tests. */
  destroy(): void;
}

/** `sh -c command` on the host, which must succeed; its trimmed stdout. */
export function shell(host: SystemdHost, command: string): string {
  const r = host.run(['sh', '-c', command]);
  if (r.status !== 0) throw new Error(`${command} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/** `systemctl show --property=P --value UNIT` on the host. */
export function unitProperty(host: SystemdHost, unit: string, property: string): string {
  return host.run(['systemctl', 'show', `--property=${property}`, '--value', unit]).stdout.trim();
}

/** Makes systemd re-read its units and re-apply every unit's cgroup attributes. */
export function daemonReload(host: SystemdHost): void {
  shell(host, 'systemctl daemon-reload');
}

/** A busybox bundle under `work` (runc's default config, no terminal); returns its directory. */
export function makeInnerBundle(work: string, args: string[], mutate?: (spec: Spec) => void): string {
  const dir = mkdtempSync(join(work, 'bundle-'));
  const copy = spawnSync('cp', ['-a', BUSYBOX_ROOTFS, join(dir, 'rootfs')]);
  if (copy.status !== 0) throw new Error(`copying the rootfs failed: ${copy.stderr}`);
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = args;
  mutate?.(spec);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

/** True when this machine's init is systemd (sd_booted's test). */
export function systemdIsInit(): boolean {
  return existsSync('/run/systemd/system');
}

/**
 * This machine, whose init is systemd: commands run here directly and
 * tsrun keeps its state in the session's private root.
 */
export class SystemdMachine implements SystemdHost {
  readonly work = tempDir('tsrun-systemd-host-');
  private readonly io = join(this.work, 'io');

  constructor(private readonly session: Session) {
    mkdirSync(this.io);
  }

  async boot(): Promise<void> {
    const version = this.run(['systemctl', 'show', '--property=Version', '--value']);
    if (version.status !== 0 || version.stdout.trim() === '') throw new Error(`systemd does not answer: ${version.stderr}`);
  }

  run(command: string[], options: RunOptions = {}): HostOutput {
    const env = { ...process.env };
    for (const entry of options.env ?? []) {
      const eq = entry.indexOf('=');
      env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return runCommand(this.io, command, { env, timeoutMs: options.timeoutMs ?? 60000 });
  }

  tsrun(args: string[], timeoutMs = 60000): HostOutput {
    return this.session.exec(args, { timeoutMs });
  }

  destroy(): void {
    for (const id of this.tsrun(['list', '--quiet']).stdout.split('\n').filter(Boolean)) this.tsrun(['delete', '--force', id]);
    rmSync(this.work, { recursive: true, force: true });
  }
}
