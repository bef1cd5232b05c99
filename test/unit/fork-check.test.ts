// The check after each fork (src/linux/fork.ts, src/linux/proc-maps.ts):
// whether a child may lack part of its parent's memory. The pure parts, and
// real forks in a fresh node; no root needed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcFileBuffer, smapsHasDontforkRange } from '../../src/linux/proc-maps';

const LINUX = join(__dirname, '..', '..', 'src', 'linux');

const SMAPS_RANGE = (flags: string, path = ''): string =>
  `7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ${path}\nSize:                  4 kB\nRss:                   4 kB\nVmFlags: ${flags}\n`;

describe('the check after a fork', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-fork-check-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a whole file into a buffer that grows past its first size, and compares contents', () => {
    const text = 'x'.repeat(70_000) + '\nend\n';
    writeFileSync(join(dir, 'a'), text);
    writeFileSync(join(dir, 'b'), text);
    const a = new ProcFileBuffer();
    const b = new ProcFileBuffer();
    assert.ok(a.read(join(dir, 'a')));
    assert.ok(b.read(join(dir, 'b')));
    assert.equal(a.length, text.length);
    assert.equal(a.text(), text);
    assert.ok(a.sameAs(b));
    writeFileSync(join(dir, 'b'), text.replace('end', 'END'));
    assert.ok(b.read(join(dir, 'b')));
    assert.ok(!a.sameAs(b));
    // A shorter file read into the same buffer: only its own bytes count.
    writeFileSync(join(dir, 'b'), 'short\n');
    assert.ok(b.read(join(dir, 'b')));
    assert.equal(b.text(), 'short\n');
    assert.ok(!b.read(join(dir, 'missing')));
    assert.equal(b.length, 0);
    assert.equal(b.failure, `open("${join(dir, 'missing')}"): ENOENT`);
    assert.throws(() => b.readOrThrow(join(dir, 'missing')), { message: `open("${join(dir, 'missing')}"): ENOENT` });
  });

  it('finds a range smaps marks dc (not copied on fork), and only in VmFlags', () => {
    const smaps = new ProcFileBuffer();
    const check = (text: string): boolean => {
      writeFileSync(join(dir, 'smaps'), text);
      assert.ok(smaps.read(join(dir, 'smaps')));
      return smapsHasDontforkRange(smaps);
    };
    assert.equal(check(SMAPS_RANGE('rd wr mr mw me ac sd') + SMAPS_RANGE('rd wr mr mw me dc ac sd')), true);
    assert.equal(check(SMAPS_RANGE('rd wr mr mw me ac sd') + SMAPS_RANGE('rd wr mr mw me dd sd', '/tmp/a dc b')), false);
    assert.equal(check(''), false);
  });

  it('says a child lacks memory when a range of the parent was not copied, and not when all were', () => {
    // A fresh node: it maps 32 MiB (malloc gives a Buffer that large a
    // mapping of its own), makes every mapping copied on fork as forkChild
    // does, then marks the new one DONTFORK and forks a child that waits.
    const script = `
      const fs = require('fs');
      const { madvise, MADV_DOFORK } = require(${JSON.stringify(join(LINUX, 'memory.js'))});
      const { rawFork, waitPid, exitNow } = require(${JSON.stringify(join(LINUX, 'proc.js'))});
      const { makePipe, readFd, closeFd, writeFd } = require(${JSON.stringify(join(LINUX, 'fd.js'))});
      const { childMayLackMemory } = require(${JSON.stringify(join(LINUX, 'fork.js'))});
      const ranges = () => fs.readFileSync('/proc/self/maps', 'latin1').split('\\n').filter(Boolean)
        .map((l) => l.split(' ')[0].split('-').map((h) => BigInt('0x' + h)));
      const before = new Set(ranges().map(([a, b]) => a + '-' + b));
      const big = Buffer.alloc(32 << 20, 1);
      const [start, end] = ranges().filter(([a, b]) => !before.has(a + '-' + b) && b - a >= BigInt(32 << 20))
        .sort((x, y) => Number((y[1] - y[0]) - (x[1] - x[0])))[0];
      const verdict = (advice) => {
        gc({ type: 'minor' });
        for (const [a, b] of ranges()) madvise(a, b - a, MADV_DOFORK);
        madvise(start, end - start, advice);
        const pipe = makePipe();
        const pid = rawFork();
        if (pid === 0) { readFd(pipe.read, 1); exitNow(0); }
        const lacks = childMayLackMemory(pid);
        writeFd(pipe.write, 'g');
        const status = waitPid(pid);
        closeFd(pipe.read); closeFd(pipe.write);
        return lacks + ':' + status.exitCode;
      };
      // A GC during this script's own pass may leave a DONTFORK page (the
      // race forkChild retries on), so the copied case gets a few tries.
      const copied = [];
      for (let i = 0; i < 5 && !copied.includes('false:0'); i++) copied.push(verdict(MADV_DOFORK));
      process.stdout.write(JSON.stringify({ dontfork: verdict(10 /* MADV_DONTFORK */), copied, size: big.length }));
    `;
    const r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { dontfork: string; copied: string[]; size: number };
    assert.equal(out.size, 32 << 20);
    // Not copied: the check says so (the child, which never touched that memory, still ended well).
    assert.equal(out.dontfork, 'true:0');
    // All copied: the check lets it go, and no child it let go failed.
    assert.ok(out.copied.includes('false:0'), JSON.stringify(out.copied));
    assert.ok(out.copied.every((v) => v === 'false:0' || v.startsWith('true:')), JSON.stringify(out.copied));
  });

  it("decides a process's first forks from the maps alone: reading them after the fork does not move the parent's [heap]", () => {
    // Growing a read buffer after the fork (malloc) moved the end of the
    // parent's [heap]: its maps then differed from the child's, and every
    // first fork of a process paid for smaps.
    const script = `
      const { forkChild, smapsReadCount } = require(${JSON.stringify(join(LINUX, 'fork.js'))});
      const { waitPid, exitNow } = require(${JSON.stringify(join(LINUX, 'proc.js'))});
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const pid = forkChild();
        if (pid === 0) exitNow(0);
        statuses.push(waitPid(pid).exitCode);
      }
      process.stdout.write(JSON.stringify({ statuses, smapsReads: smapsReadCount() }));
    `;
    const r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { statuses: [0, 0, 0], smapsReads: 0 });
  });
});
