// Runs one shell command in a fresh VM and prints what it printed:
//
//   node dist/hack/vm/run.js [--mode minimal|systemd] [--timeout SEC] [--console] -- COMMAND...
//
// For trying things on a cgroup-v2-only host (minimal) or a systemd host by
// hand; the VM test suite (test-suite.ts) is built on the same pieces. Exits
// with the command's status.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from './image';
import { chooseAccel, runInVm, type VmMode } from './vm';

async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const flags = dash < 0 ? argv : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  const mode = (flagValue(flags, '--mode') ?? 'minimal') as VmMode;
  if (command.length === 0 || (mode !== 'minimal' && mode !== 'systemd')) {
    process.stderr.write('usage: run.js [--mode minimal|systemd] [--timeout SEC] [--console] -- COMMAND...\n');
    return 2;
  }
  const work = mkdtempSync(join(tmpdir(), 'tsrun-vm-image-'));
  try {
    const image = buildImage(work);
    const accel = await chooseAccel(image);
    const result = await runInVm(image, {
      mode,
      accel,
      job: `cd ${shellQuote(process.cwd())} || exit 125\n${command.map(shellQuote).join(' ')}\n`,
      timeoutSec: Number(flagValue(flags, '--timeout') ?? 600),
      diskMiB: 64,
      onConsole: flags.includes('--console') ? (chunk) => process.stderr.write(chunk) : undefined,
    });
    process.stdout.write(result.output);
    process.stderr.write(`vm (${mode}, ${accel}): exit ${result.status} after ${result.seconds.toFixed(1)} s; files in ${result.share}\n`);
    return result.status;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function flagValue(flags: string[], name: string): string | undefined {
  const i = flags.indexOf(name);
  return i >= 0 ? flags[i + 1] : undefined;
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
