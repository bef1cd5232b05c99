// Translation of fstab-style mount options (as config.json carries them) into
// mount(2) flags, propagation changes and the filesystem's data string.
// Pure: no system calls, so it is unit-tested directly.

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** Options that set (true) or clear (false) a flag. */
const FLAG_OPTIONS: Record<string, [number, boolean]> = {
  defaults: [0, false],
  ro: [MS.RDONLY, true],
  rw: [MS.RDONLY, false],
  nosuid: [MS.NOSUID, true],
  suid: [MS.NOSUID, false],
  nodev: [MS.NODEV, true],
  dev: [MS.NODEV, false],
  noexec: [MS.NOEXEC, true],
  exec: [MS.NOEXEC, false],
  sync: [MS.SYNCHRONOUS, true],
  async: [MS.SYNCHRONOUS, false],
  dirsync: [MS.DIRSYNC, true],
  remount: [MS.REMOUNT, true],
  mand: [MS.MANDLOCK, true],
  nomand: [MS.MANDLOCK, false],
  atime: [MS.NOATIME, false],
  noatime: [MS.NOATIME, true],
  diratime: [MS.NODIRATIME, false],
  nodiratime: [MS.NODIRATIME, true],
  relatime: [MS.RELATIME, true],
  norelatime: [MS.RELATIME, false],
  strictatime: [MS.STRICTATIME, true],
  nostrictatime: [MS.STRICTATIME, false],
  lazytime: [MS.LAZYTIME, true],
  nolazytime: [MS.LAZYTIME, false],
  symfollow: [MS.NOSYMFOLLOW, false],
  nosymfollow: [MS.NOSYMFOLLOW, true],
  bind: [MS.BIND, true],
  rbind: [MS.BIND | MS.REC, true],
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Options this runtime accepts and deliberately does not turn into flags or data. */
const IGNORED_OPTIONS = new Set(['tmpcopyup', 'idmap', 'ridmap', 'copy-symlink']);

export interface ParsedMountOptions {
  flags: number;
  /** Flags named with a "no" form (rw, suid...): needed to compute a bind remount. */
  cleared: number;
  propagation: number[];
  data: string[];
}

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  const parsed: ParsedMountOptions = { flags: 0, cleared: 0, propagation: [], data: [] };
  for (const option of options) {
    const flag = FLAG_OPTIONS[option];
    if (flag) {
      const [bits, set] = flag;
      if (set) {
        parsed.flags |= bits;
        parsed.cleared &= ~bits;
      } else {
        parsed.flags &= ~bits;
        parsed.cleared |= bits;
      }
      continue;
    }
    const propagation = PROPAGATION_OPTIONS[option];
    if (propagation !== undefined) {
      parsed.propagation.push(propagation);
      continue;
    }
    if (IGNORED_OPTIONS.has(option)) continue;
    parsed.data.push(option);
  }
  return parsed;
}

export function propagationFlag(name: string): number | undefined {
  return PROPAGATION_OPTIONS[name];
}

/** Flags that a bind mount needs a second, MS_REMOUNT call to apply. */
export const BIND_REMOUNT_FLAGS =
  MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;
