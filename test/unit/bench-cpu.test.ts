// hack/bench/common.ts cpuMs: the CPU it reports is the command's alone,
// whatever the environment the bench was started from.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuMs, work } from '../../hack/bench/common';

describe('bench cpuMs', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'tsrun-bench-home-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));
  // Importing common.ts made the bench's temp dir.
  after(() => rmSync(work, { recursive: true, force: true }));

  it("runs no ~/.bashrc around the command, even with SHLVL unset (a detached bench), whose children would count as the command's", () => {
    const marker = join(home, 'bashrc-ran');
    writeFileSync(join(home, '.bashrc'), `: > ${marker}\n`);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };
    const ms = cpuMs(['true'], env);
    assert.ok(ms >= 0);
    assert.equal(existsSync(marker), false, 'bash ran ~/.bashrc');
  });
});
