// Where the resctrl filesystem (Intel RDT, AMD PQoS) is mounted, read from
// /proc/self/mountinfo, and whether this kernel has it at all.
import { readFileSync } from 'node:fs';

/** The mount point of the first resctrl mount in `mountinfo`, or null. */
export function findResctrlMount(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    // Fields: id parent major:minor root mountpoint options [optional...] - fstype source super-options
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    if (line.slice(dash + 3).split(' ')[0] !== 'resctrl') continue;
    return unescapeMountPath(line.slice(0, dash).split(' ')[4]);
  }
  return null;
}

/** mountinfo writes space, tab, newline and backslash as octal escapes. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function hostResctrlMount(): string | null {
  return findResctrlMount(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** True if the kernel knows the resctrl filesystem (it lists it in /proc/filesystems). */
export function kernelHasResctrl(): boolean {
  return /\tresctrl$/m.test(readFileSync('/proc/filesystems', 'utf8'));
}
