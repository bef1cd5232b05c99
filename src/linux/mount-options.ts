// Translation of fstab-style mount options (as config.json carries them) into
// mount(2) flags, propagation changes, recursive mount_setattr(2) attributes,
// tsrun's mount extensions and the filesystem's data string.
// Pure: no system calls, so it is unit-tested directly.
import { MOUNT_ATTR, type MountAttr } from './mount-api';

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

/**
 * runc 1.2's recursive options: applied after the mount to it and every
 * mount below it, by one mount_setattr(2) with AT_RECURSIVE (mount(2) can
 * only change one mount at a time). [bit, set?]; the atime words are apart.
 */
const RECURSIVE_FLAG_OPTIONS: Record<string, [number, boolean]> = {
  rro: [MOUNT_ATTR.RDONLY, true],
  rrw: [MOUNT_ATTR.RDONLY, false],
  rnosuid: [MOUNT_ATTR.NOSUID, true],
  rsuid: [MOUNT_ATTR.NOSUID, false],
  rnodev: [MOUNT_ATTR.NODEV, true],
  rdev: [MOUNT_ATTR.NODEV, false],
  rnoexec: [MOUNT_ATTR.NOEXEC, true],
  rexec: [MOUNT_ATTR.NOEXEC, false],
  rnodiratime: [MOUNT_ATTR.NODIRATIME, true],
  rdiratime: [MOUNT_ATTR.NODIRATIME, false],
  rnosymfollow: [MOUNT_ATTR.NOSYMFOLLOW, true],
  rsymfollow: [MOUNT_ATTR.NOSYMFOLLOW, false],
};

/** The three values of mount_setattr's atime field, one at a time (it is an enum, not bits). */
type AtimeMode = 'relatime' | 'noatime' | 'strictatime';

const ATIME_VALUE: Record<AtimeMode, number> = {
  relatime: MOUNT_ATTR.RELATIME,
  noatime: MOUNT_ATTR.NOATIME,
  strictatime: MOUNT_ATTR.STRICTATIME,
};

/**
 * How each recursive atime word changes the requested mode (undefined: leave
 * every mount's own). The "no"/plain forms cannot clear one value of an
 * enum: like mount(2) without an atime flag, they fall back to the kernel's
 * default, relatime, unless the mode already satisfies them. rnorelatime thus
 * only undoes an earlier rrelatime (runc and crun apply it as no change).
 */
const RECURSIVE_ATIME_OPTIONS: Record<string, (mode: AtimeMode | undefined) => AtimeMode | undefined> = {
  rrelatime: () => 'relatime',
  rnoatime: () => 'noatime',
  rstrictatime: () => 'strictatime',
  ratime: (mode) => (mode === 'strictatime' ? mode : 'relatime'),
  rnostrictatime: (mode) => (mode === 'noatime' ? mode : 'relatime'),
  rnorelatime: (mode) => (mode === 'relatime' ? undefined : mode),
};

/** Every recursive option, in the order runc documents them (for `features`). */
export const RECURSIVE_OPTION_NAMES: readonly string[] = [
  'rro', 'rrw', 'rnosuid', 'rsuid', 'rnodev', 'rdev', 'rnoexec', 'rexec', 'rnodiratime', 'rdiratime',
  'rrelatime', 'rnorelatime', 'rnoatime', 'ratime', 'rstrictatime', 'rnostrictatime', 'rnosymfollow', 'rsymfollow',
];

/**
 * Extensions other runtimes give config.json's options: tmpcopyup (runc,
 * crun: a new tmpfs starts with the contents of the directory it covers),
 * copy-symlink (crun, podman's `no-dereference`: a bind mount whose source
 * is a symbolic link makes that link in the container instead).
 */
const EXTENSION_OPTIONS = new Set(['tmpcopyup', 'copy-symlink']);

/** Id-mapped mounts: parsed and applied by the idmap code, not here. */
const IDMAP_OPTIONS = new Set(['idmap', 'ridmap']);

/** Every option word tsrun applies itself (not handed to the filesystem as data): what `features` lists. */
export function knownMountOptions(): string[] {
  return [...Object.keys(FLAG_OPTIONS), ...Object.keys(PROPAGATION_OPTIONS), ...RECURSIVE_OPTION_NAMES, ...EXTENSION_OPTIONS, ...IDMAP_OPTIONS].sort();
}

export type MountOptionKind = 'flag' | 'propagation' | 'recursive' | 'extension' | 'idmap' | 'data';

/** What `option` is to tsrun; 'data' goes to the filesystem as it is. */
export function mountOptionKind(option: string): MountOptionKind {
  if (FLAG_OPTIONS[option]) return 'flag';
  if (PROPAGATION_OPTIONS[option] !== undefined) return 'propagation';
  if (RECURSIVE_FLAG_OPTIONS[option] || RECURSIVE_ATIME_OPTIONS[option]) return 'recursive';
  if (EXTENSION_OPTIONS.has(option)) return 'extension';
  if (IDMAP_OPTIONS.has(option)) return 'idmap';
  return 'data';
}

/**
 * Why `option` can be right for no filesystem, or undefined. An "r" word
 * whose rest is a mount(2) flag but that has no recursive form (rdirsync,
 * rmand... crun knows some) would otherwise go to the filesystem as data.
 */
export function impossibleMountOption(option: string): string | undefined {
  if (mountOptionKind(option) !== 'data' || !option.startsWith('r')) return undefined;
  const plain = option.slice(1);
  if (!FLAG_OPTIONS[plain]) return undefined;
  return `"${option}": "${plain}" has no recursive form (mount_setattr(2) cannot set it on a tree of mounts)`;
}

export interface ParsedMountOptions {
  flags: number;
  /** Flags named with a "no" form (rw, suid...): needed to compute a bind remount. */
  cleared: number;
  propagation: number[];
  data: string[];
  /** The recursive options' attributes for mount_setattr(AT_RECURSIVE), when any was given. */
  recursive?: MountAttr;
  /** tmpcopyup: fill the new tmpfs with what the destination held. */
  tmpcopyup: boolean;
  /** copy-symlink: a bind of a symbolic link makes the link instead. */
  copySymlink: boolean;
}

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  const parsed: ParsedMountOptions = { flags: 0, cleared: 0, propagation: [], data: [], tmpcopyup: false, copySymlink: false };
  const recursive = new RecursiveAttrs();
  for (const option of options) {
    switch (mountOptionKind(option)) {
      case 'flag':
        applyFlag(parsed, FLAG_OPTIONS[option]);
        break;
      case 'propagation':
        parsed.propagation.push(PROPAGATION_OPTIONS[option]);
        break;
      case 'recursive':
        recursive.apply(option);
        break;
      case 'extension':
        if (option === 'tmpcopyup') parsed.tmpcopyup = true;
        else parsed.copySymlink = true;
        break;
      case 'idmap':
        break;
      case 'data':
        parsed.data.push(option);
    }
  }
  parsed.recursive = recursive.attr();
  return parsed;
}

function applyFlag(parsed: ParsedMountOptions, [bits, set]: [number, boolean]): void {
  if (set) {
    parsed.flags |= bits;
    parsed.cleared &= ~bits;
  } else {
    parsed.flags &= ~bits;
    parsed.cleared |= bits;
  }
}

/** The recursive words folded into one attr_set/attr_clr pair; a later word wins. */
class RecursiveAttrs {
  private set = 0;
  private clear = 0;
  private atime: AtimeMode | undefined;

  apply(option: string): void {
    const atime = RECURSIVE_ATIME_OPTIONS[option];
    if (atime) {
      this.atime = atime(this.atime);
      return;
    }
    const [bit, set] = RECURSIVE_FLAG_OPTIONS[option];
    this.set = set ? this.set | bit : this.set & ~bit;
    this.clear = set ? this.clear & ~bit : this.clear | bit;
  }

  /** undefined when the words asked for no change at all (rrelatime then rnorelatime). */
  attr(): MountAttr | undefined {
    if (this.atime === undefined) return this.set === 0 && this.clear === 0 ? undefined : { set: this.set, clear: this.clear };
    // Setting one atime value needs the whole field in attr_clr (mount_setattr(2)).
    return { set: this.set | ATIME_VALUE[this.atime], clear: this.clear | MOUNT_ATTR.ATIME_MASK };
  }
}

export function propagationFlag(name: string): number | undefined {
  return PROPAGATION_OPTIONS[name];
}

/** Flags that a bind mount needs a second, MS_REMOUNT call to apply. */
export const BIND_REMOUNT_FLAGS =
  MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;
