// linux.cgroupsPath under --systemd-cgroup: "slice:prefix:name" names the
// scope unit <prefix>-<name>.scope in <slice>, whose cgroup is the slice's
// path (a-b.slice lives in a.slice) plus the unit's name.
import { configError } from '../../errors';

export interface SystemdCgroup {
  slice: string;
  unit: string;
  /** The scope's cgroup, relative to the root of systemd's hierarchy, e.g. /system.slice/tsrun-x.scope. */
  path: string;
}

const FIELD = '/linux/cgroupsPath';
/** Characters systemd allows in a unit name (before the suffix). */
const UNIT_NAME = /^[A-Za-z0-9:_.\\-]+$/;

/** The scope a container gets; without a cgroupsPath, <defaultSlice>:tsrun:<id> (system.slice; user.slice for a user's systemd). */
export function systemdCgroupOf(cgroupsPath: string | undefined, id: string, defaultSlice = 'system.slice'): SystemdCgroup {
  const wanted = cgroupsPath && cgroupsPath !== '' ? cgroupsPath : `${defaultSlice}:tsrun:${id}`;
  const parts = wanted.split(':');
  if (parts.length !== 3) {
    throw configError(FIELD, `"${wanted}" is not of the form slice:prefix:name, which --systemd-cgroup needs`);
  }
  const [sliceField, prefix, name] = parts;
  const slice = sliceField === '' ? defaultSlice : sliceField;
  if (name === '') throw configError(FIELD, `"${wanted}": the name after the second ":" is empty`);
  if (name.endsWith('.slice')) throw configError(FIELD, `"${wanted}": a container goes in a scope; a name ending in .slice is not supported`);
  const unit = prefix === '' ? `${name}.scope` : `${prefix}-${name}.scope`;
  if (!UNIT_NAME.test(unit)) throw configError(FIELD, `"${wanted}": "${unit}" is not a valid systemd unit name`);
  return { slice, unit, path: `${expandSlice(slice, wanted)}/${unit}` };
}

/** "a-b.slice" -> "/a.slice/a-b.slice"; "-.slice" (the root slice) -> "". */
export function expandSlice(slice: string, wanted = slice): string {
  if (!slice.endsWith('.slice') || slice.includes('/')) throw configError(FIELD, `"${wanted}": "${slice}" is not a slice (a name ending in .slice, without "/")`);
  if (slice === '-.slice') return '';
  const stem = slice.slice(0, -'.slice'.length);
  const words = stem.split('-');
  if (words.some((w) => w === '') || !UNIT_NAME.test(stem)) throw configError(FIELD, `"${wanted}": "${slice}" is not a valid slice name`);
  let path = '';
  for (let i = 1; i <= words.length; i++) path += `/${words.slice(0, i).join('-')}.slice`;
  return path;
}

/** The private socket of the user's own systemd instance (in $XDG_RUNTIME_DIR, which a login session sets). */
export function userSystemdSocket(): string {
  return `${process.env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.() ?? 0}`}/systemd/private`;
}
