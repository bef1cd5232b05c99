// Process-level calls: identity, sessions, waiting, signalling, exec.
import { readFileSync } from 'node:fs';
import { check, libc, lastErrno, syscallError } from './libc';

const c = {
  fork: libc.func('int fork()'),
  exit: libc.func('void _exit(int status)'),
  execve: libc.func('int execve(const char *path, const char **argv, const char **envp)'),
  waitpid: libc.func('int waitpid(int pid, _Out_ int *status, int options)'),
  getpid: libc.func('int getpid()'),
  geteuid: libc.func('uint32_t geteuid()'),
  getegid: libc.func('uint32_t getegid()'),
  setsid: libc.func('int setsid()'),
  setpgid: libc.func('int setpgid(int pid, int pgid)'),
  setresuid: libc.func('int setresuid(uint32_t r, uint32_t e, uint32_t s)'),
  setresgid: libc.func('int setresgid(uint32_t r, uint32_t e, uint32_t s)'),
  setgroups: libc.func('int setgroups(size_t size, const uint32_t *list)'),
  umask: libc.func('uint32_t umask(uint32_t mask)'),
  sethostname: libc.func('int sethostname(const char *name, size_t len)'),
  setdomainname: libc.func('int setdomainname(const char *name, size_t len)'),
  prctl: libc.func('int prctl(int option, ...)'),
  chdir: libc.func('int chdir(const char *path)'),
  fchdir: libc.func('int fchdir(int fd)'),
  getcwd: libc.func('void *getcwd(uint8_t *buf, size_t size)'),
  sigaction: libc.func('int sigaction(int sig, const uint8_t *act, uint8_t *old)'),
  sigprocmask: libc.func('int sigprocmask(int how, const uint8_t *set, uint8_t *old)'),
};

/** Plain fork(2). Use forkChild() from fork.ts: it makes the child's heap safe. */
export function rawFork(): number {
  return check(c.fork() as number, 'fork');
}

export function exitNow(code: number): never {
  c.exit(code);
  throw new Error('unreachable');
}

/** Replaces the process image; returns only by throwing. */
export function execProgram(path: string, argv: string[], env: string[]): never {
  c.execve(path, [...argv, null], [...env, null]);
  throw syscallError('execve', path);
}

export interface WaitResult {
  pid: number;
  exitCode: number | null;
  signal: number | null;
}

export const WNOHANG = 1;

/** waitpid(2); returns null when WNOHANG was given and the child has not changed state. */
export function waitPid(pid: number, options = 0): WaitResult | null {
  const status = [0];
  for (;;) {
    const ret = c.waitpid(pid, status, options) as number;
    if (ret === 0) return null;
    if (ret > 0) return decodeWaitStatus(ret, status[0]);
    if (lastErrno() !== 4 /* EINTR */) throw syscallError('waitpid', `pid ${pid}`);
  }
}

export function decodeWaitStatus(pid: number, status: number): WaitResult {
  const termSig = status & 0x7f;
  if (termSig === 0) return { pid, exitCode: (status >> 8) & 0xff, signal: null };
  return { pid, exitCode: null, signal: termSig };
}

export function currentPid(): number {
  return c.getpid() as number;
}

export function effectiveUid(): number {
  return c.geteuid() as number;
}

export function effectiveGid(): number {
  return c.getegid() as number;
}

/** setpgid(2): makes `pid` (0: this process) the leader of a process group of its own. */
export function newProcessGroup(pid = 0): void {
  check(c.setpgid(pid, 0) as number, 'setpgid', `pid ${pid}`);
}

export function newSession(): void {
  check(c.setsid() as number, 'setsid');
}

export function setIds(uid: number, gid: number, additionalGids: number[]): void {
  setGroups(additionalGids);
  check(c.setresgid(gid, gid, gid) as number, 'setresgid', String(gid));
  check(c.setresuid(uid, uid, uid) as number, 'setresuid', String(uid));
}

/**
 * A user namespace made by an unprivileged user with only their own gid
 * mapped has setgroups denied for good (user_namespaces(7)): there the
 * group list cannot change, so an empty one is left as it is (as runc does)
 * and any other is refused with the reason.
 */
function setGroups(gids: number[]): void {
  if (setgroupsDenied()) {
    if (gids.length === 0) return;
    throw new Error(`setgroups(${gids.join(',')}): this user namespace denies setgroups (a rootless container with a single gid mapping cannot have process.user.additionalGids)`);
  }
  check(c.setgroups(gids.length, gids) as number, 'setgroups', gids.join(','));
}

function setgroupsDenied(): boolean {
  try {
    return readFileSync('/proc/self/setgroups', 'utf8').trim() === 'deny';
  } catch {
    return false;
  }
}

/** Only setresuid/setresgid, for steps that must not touch supplementary groups. */
export function becomeRootInNamespace(): void {
  check(c.setresgid(0, 0, 0) as number, 'setresgid', '0');
  check(c.setresuid(0, 0, 0) as number, 'setresuid', '0');
}

export function setUmask(mask: number): void {
  c.umask(mask);
}

export function setHostname(name: string): void {
  check(c.sethostname(name, Buffer.byteLength(name)) as number, 'sethostname', name);
}

export function setDomainname(name: string): void {
  check(c.setdomainname(name, Buffer.byteLength(name)) as number, 'setdomainname', name);
}

export function changeDir(path: string): void {
  check(c.chdir(path) as number, 'chdir', path);
}

export function changeDirFd(fd: number): void {
  check(c.fchdir(fd) as number, 'fchdir', `fd ${fd}`);
}

/** getcwd(3): fails with ENOENT when the working directory is not under this process' root. */
export function currentDir(): string {
  const buf = Buffer.alloc(4097);
  if (c.getcwd(buf, buf.length - 1) === null) throw syscallError('getcwd');
  return buf.toString('utf8', 0, buf.indexOf(0));
}

export const PR_SET_PDEATHSIG = 1;
export const PR_SET_DUMPABLE = 4;
export const PR_SET_NAME = 15;
export const PR_SET_CHILD_SUBREAPER = 36;
export const PR_SET_NO_NEW_PRIVS = 38;

export function prctlSet(option: number, value: number, what: string): void {
  check(c.prctl(option, 'unsigned long', value, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0) as number, 'prctl', what);
}

const SIGSET_BYTES = 128;
const SIGACTION_BYTES = 152;

/** Puts every catchable signal back to its default action and empties the mask. */
export function resetSignals(): void {
  const dfl = Buffer.alloc(SIGACTION_BYTES);
  for (let sig = 1; sig < 65; sig++) {
    if (sig === 9 || sig === 19 || sig === 32 || sig === 33) continue;
    c.sigaction(sig, dfl, null);
  }
  check(c.sigprocmask(2 /* SIG_SETMASK */, Buffer.alloc(SIGSET_BYTES), null) as number, 'sigprocmask');
}

/** waitpid(2) on a koffi worker thread, so the event loop (signal forwarding) keeps running. */
export function waitPidAsync(pid: number): Promise<WaitResult> {
  return new Promise((resolve, reject) => {
    const status = [0];
    const attempt = (): void => {
      c.waitpid.async(pid, status, 0, (err: unknown, ret: number) => {
        if (err) return reject(err);
        if (ret > 0) return resolve(decodeWaitStatus(ret, status[0]));
        attempt(); // EINTR
      });
    };
    attempt();
  });
}
