// The last steps of the init: find the program, give the process a clean
// slate (what Node left behind, docs/architecture.md §6.6), and execve it.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { UserError } from '../../errors';
import { closeOnExecFrom, isOpen, setCloexec, setNonblocking } from '../../linux/fd';
import { changeDir, currentDir, resetSignals } from '../../linux/proc';

/** Finds `name` the way execvp would, with the container's PATH; throws runc's words. */
export function lookPath(name: string, env: string[]): string {
  if (name.includes('/')) {
    const why = notExecutable(name);
    if (why !== undefined) throw new UserError(`exec: "${name}": ${why}`);
    return name;
  }
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  for (const dir of pathVar.split(':')) {
    const candidate = `${dir === '' ? '.' : dir}/${name}`;
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new UserError(`exec: "${name}": executable file not found in $PATH`);
}

const STRERROR: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
};

/**
 * Why `path` cannot be executed, in Go's exec.LookPath words as runc reports
 * them (callers map them to exit codes: podman gives 127 for "no such file
 * or directory" and 126 for "permission denied"), or undefined when it can.
 */
function notExecutable(path: string): string | undefined {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return `stat ${path}: ${STRERROR[code] ?? code}`;
  }
  return isFile && isExecutableFile(path) ? undefined : 'permission denied';
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * chdir to the process' cwd, then check that it is under the container's
 * root: a cwd through /proc/self/fd/N (named so, or by a symlink in the
 * image) is whatever directory descriptor N is, and one the caller leaked or
 * passed with --preserve-fds may be the host's (CVE-2024-21626). getcwd
 * fails (ENOENT) for a directory out of reach of the process' root, as runc
 * checks.
 */
export function enterWorkingDir(cwd: string, fieldError: (detail: string) => Error): void {
  changeDir(cwd);
  checkWorkingDir(cwd, fieldError);
}

/**
 * enterWorkingDir as the runtime's root, before the user switch and the
 * seccomp filter (a profile may deny getcwd to the program, and the check
 * must not depend on it). Returns false when root may not enter it (EACCES,
 * EPERM: a directory only the container's user can reach, root squashed by
 * NFS or unmapped owners): the caller tries again as the user, as runc does.
 */
export function enterWorkingDirAsRoot(cwd: string, fieldError: (detail: string) => Error): boolean {
  try {
    changeDir(cwd);
  } catch (err) {
    const errno = (err as { errnoName?: string }).errnoName;
    if (errno === 'EACCES' || errno === 'EPERM') return false;
    throw err;
  }
  checkWorkingDir(cwd, fieldError);
  return true;
}

function checkWorkingDir(cwd: string, fieldError: (detail: string) => Error): void {
  let path: string | undefined;
  try {
    path = currentDir();
  } catch (err) {
    // ENOENT: out of reach of the root (or removed). Anything else, e.g. a
    // seccomp profile that denies getcwd, means the check cannot be made.
    const errno = (err as { errnoName?: string }).errnoName;
    if (errno !== 'ENOENT') throw fieldError(`cannot check that ${cwd} is inside the container: getcwd: ${errno}`);
  }
  if (path === undefined || !path.startsWith('/')) {
    throw fieldError(`${cwd} is outside the container's root filesystem (possible container breakout)`);
  }
}

/** The environment with HOME added from the container's /etc/passwd when missing. */
export function withHome(env: string[], uid: number): string[] {
  if (env.some((e) => e.startsWith('HOME='))) return env;
  return [...env, `HOME=${homeOf(uid)}`];
}

function homeOf(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields.length >= 6 && Number(fields[2]) === uid && fields[5]) return fields[5];
    }
  } catch {
    // no passwd file in the image
  }
  return '/';
}

/**
 * Undo what Node did to the process: stdio marked close-on-exec and
 * non-blocking, signals ignored or blocked; every other descriptor but the
 * preserved ones (fds 3 .. 3+preserveFds-1) is made close-on-exec, so that
 * execve closes it. Those still needed until then (the report pipe, the
 * seccomp agent's socket) stay usable.
 */
export function cleanProcessForExec(preserveFds: number): void {
  for (let fd = 0; fd < 3 + preserveFds; fd++) {
    if (!isOpen(fd)) continue;
    setCloexec(fd, false);
    if (fd < 3) setNonblocking(fd, false);
  }
  closeOnExecFrom(3 + preserveFds);
  resetSignals();
}
