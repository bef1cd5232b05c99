// Signal names and numbers as `kill` accepts them: KILL, SIGKILL, 9.
import { constants } from 'node:os';
import { UserError } from '../errors';

const SIGNALS = constants.signals as Record<string, number>;

export function parseSignal(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const n = Number(trimmed);
    // 0 signals nothing: it asks whether the container is alive (podman uses it).
    if (n >= 0 && n <= 64) return n;
    throw new UserError(`unknown signal "${text}"`);
  }
  const upper = trimmed.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const offset = Number(rt[1] ?? 0);
    const n = name.startsWith('SIGRTMIN') ? 34 + offset : 64 - offset;
    if (n >= 34 && n <= 64) return n;
  }
  const n = SIGNALS[name];
  if (n === undefined) throw new UserError(`unknown signal "${text}"`);
  return n;
}

export function signalName(n: number): string {
  return Object.entries(SIGNALS).find(([, v]) => v === n)?.[0] ?? String(n);
}
