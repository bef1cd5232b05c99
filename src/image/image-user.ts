// The image config's User ("name", "uid", "name:group", "uid:gid",
// "name:gid", "uid:group") as process.user, names looked up in the rootfs'
// own /etc/passwd and /etc/group (image-spec conversion.md "Config.User").
// Both files are reached through resolveInRoot: an image whose
// /etc/passwd is a symlink to "/etc/shadow" or "../../host" reads a path
// inside its rootfs, never the host's file.
import { lstatSync, readFileSync } from 'node:fs';
import { UserError } from '../errors';
import type { User } from '../spec/types';
import { resolveInRoot } from './root-path';

/** Larger account files are refused rather than read into memory. */
const ACCOUNT_FILE_LIMIT = 16 * 1024 * 1024;
const MAX_ID = 0xffffffff;

/** The lines of the rootfs' `file` split at ":", or null when it has none (or not a regular file). */
function accountFile(rootfs: string, file: string): string[][] | null {
  const path = resolveInRoot(rootfs, file);
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
  // A FIFO or device would block or stream forever: only a plain file is read.
  if (!st.isFile() || st.size > ACCOUNT_FILE_LIMIT) return null;
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

function numericId(text: string, user: string): number | null {
  if (!/^[0-9]+$/.test(text)) return null;
  const id = Number(text);
  if (id > MAX_ID) throw new UserError(`image config User ${JSON.stringify(user)}: ${text} is not a valid id`);
  return id;
}

interface Passwd {
  name: string;
  uid: number;
  gid: number;
}

function passwdEntries(rootfs: string): Passwd[] {
  return (accountFile(rootfs, '/etc/passwd') ?? [])
    .filter((f) => f.length >= 4 && /^[0-9]+$/.test(f[2]) && /^[0-9]+$/.test(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]) }));
}

interface Group {
  name: string;
  gid: number;
  members: string[];
}

function groupEntries(rootfs: string): Group[] {
  return (accountFile(rootfs, '/etc/group') ?? [])
    .filter((f) => f.length >= 3 && /^[0-9]+$/.test(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') }));
}

/**
 * process.user for the image config's `user` string, names resolved in
 * `rootfs`. Throws a UserError naming the value and the file when a name
 * is not there.
 */
export function resolveImageUser(user: string, rootfs: string): User {
  const colon = user.indexOf(':');
  const userPart = colon === -1 ? user : user.slice(0, colon);
  const groupPart = colon === -1 ? null : user.slice(colon + 1);
  const quoted = JSON.stringify(user);
  const passwd = passwdEntries(rootfs);
  const uidGiven = numericId(userPart, user);
  const entry = uidGiven === null ? passwd.find((p) => p.name === userPart) : passwd.find((p) => p.uid === uidGiven);
  if (entry === undefined && uidGiven === null) throw new UserError(`image config User ${quoted}: no user "${userPart}" in the image's /etc/passwd`);
  const uid = uidGiven ?? entry!.uid;
  if (groupPart !== null && groupPart !== '') {
    const gidGiven = numericId(groupPart, user);
    if (gidGiven !== null) return { uid, gid: gidGiven };
    const group = groupEntries(rootfs).find((g) => g.name === groupPart);
    if (group === undefined) throw new UserError(`image config User ${quoted}: no group "${groupPart}" in the image's /etc/group`);
    return { uid, gid: group.gid };
  }
  // No group: the passwd entry's, or root's for a uid the image does not list.
  const gid = entry?.gid ?? 0;
  // conversion.md: additionalGids come from /etc/group for a user given by
  // name; a numeric user (or a group given) leaves them alone.
  if (uidGiven !== null) return { uid, gid };
  const extra = [...new Set(groupEntries(rootfs).filter((g) => g.members.includes(userPart) && g.gid !== gid).map((g) => g.gid))];
  return extra.length > 0 ? { uid, gid, additionalGids: extra } : { uid, gid };
}
