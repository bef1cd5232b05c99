// Per tsrun verb: the time spent loading modules, how many were loaded and
// whether ajv, full yargs or koffi came with them, found by a preload that
// hooks Module._load, so nothing in src/ changes for it.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_ENTRY, fmt, forget, invoke, median, newId, nextSerial, now, percentile, tick, work, type Runtime } from './common';

function deleteNow(rt: Runtime, id: string): void {
  invoke(rt, ['delete', '--force', id]);
  forget(rt, id);
}

const PRELOAD = `
'use strict';
const Module = require('module');
const { writeFileSync } = require('fs');
const original = Module._load;
let depth = 0, loadNs = 0n, firstStart = 0n;
Module._load = function (request, parent, isMain) {
  if (depth === 0) {
    const t0 = process.hrtime.bigint();
    if (firstStart === 0n) firstStart = t0;
    depth++;
    try { return original.apply(this, arguments); }
    finally { depth--; loadNs += process.hrtime.bigint() - t0; }
  }
  depth++;
  try { return original.apply(this, arguments); } finally { depth--; }
};
process.on('exit', () => {
  const files = Object.keys(require.cache);
  writeFileSync(process.env.BENCH_LOAD_REPORT, JSON.stringify({
    loadMs: Number(loadNs) / 1e6,
    modules: files.length,
    ajv: files.some((f) => /[\\\\/]node_modules[\\\\/]ajv[\\\\/]/.test(f)),
    yargs: files.some((f) => /[\\\\/]node_modules[\\\\/]yargs[\\\\/]/.test(f)),
    koffi: files.some((f) => /[\\\\/]node_modules[\\\\/]koffi[\\\\/]/.test(f)),
    lockfile: files.some((f) => /[\\\\/]node_modules[\\\\/]proper-lockfile[\\\\/]/.test(f)),
  }));
});
`;

interface LoadReport {
  loadMs: number;
  modules: number;
  ajv: boolean;
  yargs: boolean;
  koffi: boolean;
  lockfile: boolean;
}

interface LoadCase {
  verb: string;
  /** Arguments after `--root R`; prepare makes what they need. */
  prepare(rt: Runtime): { args: string[]; after?: () => void };
  /** Loading these is a regression. */
  mustNotLoad: (keyof LoadReport)[];
}

function loadOnce(tsrun: Runtime, preload: string, args: string[]): { report: LoadReport; wallMs: number } {
  const reportFile = join(work, `load-${nextSerial()}.json`);
  const t0 = now();
  const errPath = join(work, 'load.err');
  const err = openSync(errPath, 'w');
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '--no-warnings', '-r', preload, CLI_ENTRY, '--root', tsrun.root, ...args], {
      stdio: ['ignore', 'ignore', err],
      env: { ...process.env, BENCH_LOAD_REPORT: reportFile },
      timeout: 30000,
    });
  } finally {
    closeSync(err);
  }
  const wallMs = now() - t0;
  if (r.status !== 0) throw new Error(`tsrun ${args.join(' ')} exited ${r.status ?? r.signal}: ${readFileSync(errPath, 'utf8')}`);
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as LoadReport;
  rmSync(reportFile, { force: true });
  return { report, wallMs };
}

/** The verbs measured, each with what it needs made first and the modules it must not load. */
function loadCases(stateId: string, bundle: string): LoadCase[] {
  return [
    { verb: 'state', prepare: () => ({ args: ['state', stateId] }), mustNotLoad: ['ajv', 'yargs', 'koffi'] },
    { verb: 'kill', prepare: () => ({ args: ['kill', stateId, '0'] }), mustNotLoad: ['ajv', 'yargs', 'koffi'] },
    { verb: 'list', prepare: () => ({ args: ['list'] }), mustNotLoad: ['ajv', 'yargs', 'koffi'] },
    {
      verb: 'delete',
      prepare: (rt) => {
        const id = newId(rt);
        invoke(rt, ['create', '--bundle', bundle, id]);
        return { args: ['delete', '--force', id], after: () => forget(rt, id) };
      },
      mustNotLoad: ['ajv', 'yargs'],
    },
    {
      verb: 'create',
      prepare: (rt) => {
        const id = newId(rt);
        return { args: ['create', '--bundle', bundle, id], after: () => deleteNow(rt, id) };
      },
      mustNotLoad: ['yargs'],
    },
    {
      verb: 'start',
      prepare: (rt) => {
        const id = newId(rt);
        invoke(rt, ['create', '--bundle', bundle, id]);
        return { args: ['start', id], after: () => deleteNow(rt, id) };
      },
      mustNotLoad: ['ajv', 'yargs'],
    },
    {
      verb: 'run',
      prepare: (rt) => {
        const id = newId(rt);
        return { args: ['run', '--bundle', bundle, id], after: () => forget(rt, id) };
      },
      mustNotLoad: ['yargs'],
    },
    {
      verb: 'spec',
      prepare: () => {
        const dir = mkdtempSync(join(work, 'spec-'));
        return { args: ['spec', '--bundle', dir], after: () => rmSync(dir, { recursive: true, force: true }) };
      },
      mustNotLoad: ['ajv', 'yargs', 'koffi'],
    },
    { verb: '--help', prepare: () => ({ args: ['--help'] }), mustNotLoad: ['ajv', 'koffi'] },
  ];
}

export async function measureLoading(tsrun: Runtime, runs: number, bundle: string): Promise<string[][]> {
  const preload = join(work, 'load-hook.js');
  writeFileSync(preload, PRELOAD);
  const stateId = newId(tsrun);
  invoke(tsrun, ['create', '--bundle', bundle, stateId]);
  const rows: string[][] = [['verb', 'load ms p50', 'p90', 'process ms p50', 'modules', 'ajv', 'yargs (full)', 'koffi', 'lockfile', 'verdict']];
  const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
  for (const c of loadCases(stateId, bundle)) {
    const load: number[] = [];
    const wall: number[] = [];
    let last: LoadReport | undefined;
    for (let i = 0; i < runs; i++) {
      await tick();
      const { args, after } = c.prepare(tsrun);
      try {
        const r = loadOnce(tsrun, preload, args);
        load.push(r.report.loadMs);
        wall.push(r.wallMs);
        last = { ...r.report, modules: Math.max(last?.modules ?? 0, r.report.modules) };
      } finally {
        after?.();
      }
    }
    const bad = c.mustNotLoad.filter((k) => last![k]);
    rows.push([
      c.verb,
      fmt(median(load)),
      fmt(percentile(load, 90)),
      fmt(median(wall)),
      String(last!.modules),
      yesNo(last!.ajv),
      yesNo(last!.yargs),
      yesNo(last!.koffi),
      yesNo(last!.lockfile),
      bad.length === 0 ? 'ok' : `LOADS ${bad.join(', ')}`,
    ]);
  }
  deleteNow(tsrun, stateId);
  return rows;
}
