// Sizes as runc's flags take them: "1024", "512k", "64m", "1g" (binary
// multiples, as docker's RAMInBytes), and -1 for unlimited.
import { UserError } from '../errors';

const MULTIPLIERS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

export function parseBytes(text: string, flag: string): number {
  const m = /^(-1|\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new UserError(`invalid value "${text}" for flag -${flag}: expected a size such as 512m or 1g`);
  if (m[1] === '-1') return -1;
  return Math.floor(Number(m[1]) * MULTIPLIERS[m[2].toLowerCase()]);
}

export function parseInteger(text: string, flag: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UserError(`invalid value "${text}" for flag -${flag}: expected an integer`);
  return Number(text);
}
