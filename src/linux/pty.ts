// Pseudo-terminals: the ptmx/devpts ioctls behind grantpt/unlockpt/ptsname,
// TIOCGPTPEER, the controlling terminal and the window size. Request numbers
// are the asm-generic ones, the same on x86_64 and arm64. ioctl is variadic:
// every extra argument's type is spelled out at the call (docs/architecture.md §6.8).
import { check, libc, lastErrno, syscallError } from './libc';
import { closeFd, openFd, O_CLOEXEC, O_RDWR } from './fd';

const ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)');

const TIOCSCTTY = 0x540e;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
/** _IOR('T', 0x30, unsigned int) */
const TIOCGPTN = 0x80045430;
/** _IOW('T', 0x31, int) */
const TIOCSPTLCK = 0x40045431;
/** _IO('T', 0x41): Linux 4.13+ */
const TIOCGPTPEER = 0x5441;

export const O_NOCTTY = 0o400;
const ENOTTY = 25;
const EINVAL = 22;

export interface Pty {
  master: number;
  slave: number;
  /** The slave's name as this process sees it, e.g. /dev/pts/0. */
  slavePath: string;
}

/**
 * A new pty from `ptmx` (the devpts instance of this mount namespace once
 * /dev/ptmx points at pts/ptmx). Both ends close-on-exec and not made
 * anyone's controlling terminal by the open.
 */
export function openPty(ptmx = '/dev/ptmx'): Pty {
  const master = openFd(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
  try {
    // unlockpt(): the slave cannot be opened while locked.
    const unlock = Buffer.alloc(4);
    check(ioctl(master, TIOCSPTLCK, 'void *', unlock) as number, 'ioctl(TIOCSPTLCK)', ptmx);
    const number = Buffer.alloc(4);
    check(ioctl(master, TIOCGPTN, 'void *', number) as number, 'ioctl(TIOCGPTN)', ptmx);
    const slavePath = `/dev/pts/${number.readUInt32LE(0)}`;
    return { master, slave: openPeer(master, slavePath), slavePath };
  } catch (err) {
    closeFd(master);
    throw err;
  }
}

/**
 * The slave through the master itself (TIOCGPTPEER), which cannot be fooled
 * by whatever sits at /dev/pts/N in the container; by path on kernels
 * without it.
 */
function openPeer(master: number, slavePath: string): number {
  const fd = ioctl(master, TIOCGPTPEER, 'int', O_RDWR | O_NOCTTY | O_CLOEXEC) as number;
  if (fd >= 0) return fd;
  const errno = lastErrno();
  if (errno !== ENOTTY && errno !== EINVAL) throw syscallError('ioctl(TIOCGPTPEER)', slavePath, errno);
  return openFd(slavePath, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

/** Makes the terminal on `fd` the controlling terminal of this process, a session leader without one. */
export function makeControllingTerminal(fd: number): void {
  check(ioctl(fd, TIOCSCTTY, 'int', 0) as number, 'ioctl(TIOCSCTTY)', `fd ${fd}`);
}

export interface WindowSize {
  rows: number;
  columns: number;
}

/** TIOCSWINSZ on either end; the kernel sends SIGWINCH to the terminal's foreground group. */
export function setWindowSize(fd: number, size: WindowSize): void {
  // struct winsize: unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel.
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(size.rows & 0xffff, 0);
  ws.writeUInt16LE(size.columns & 0xffff, 2);
  check(ioctl(fd, TIOCSWINSZ, 'void *', ws) as number, 'ioctl(TIOCSWINSZ)', `fd ${fd}`);
}

export function getWindowSize(fd: number): WindowSize {
  const ws = Buffer.alloc(8);
  check(ioctl(fd, TIOCGWINSZ, 'void *', ws) as number, 'ioctl(TIOCGWINSZ)', `fd ${fd}`);
  return { rows: ws.readUInt16LE(0), columns: ws.readUInt16LE(2) };
}

const termios = {
  tcgetattr: libc.func('int tcgetattr(int fd, _Out_ uint8_t *termios)'),
  tcsetattr: libc.func('int tcsetattr(int fd, int when, const uint8_t *termios)'),
  cfmakeraw: libc.func('void cfmakeraw(_Inout_ uint8_t *termios)'),
};
/** glibc's struct termios is 60 bytes on x86_64 and arm64; room to spare. */
const TERMIOS_BYTES = 64;
const TCSANOW = 0;

/**
 * Puts the terminal on `fd` in raw mode as cfmakeraw does (no echo, no line
 * editing, no signals from keys, no output processing: a relayed pty's
 * "\r\n" stays as it is). Returns the settings to restore.
 */
export function makeRaw(fd: number): Buffer {
  const saved = Buffer.alloc(TERMIOS_BYTES);
  check(termios.tcgetattr(fd, saved) as number, 'tcgetattr', `fd ${fd}`);
  const raw = Buffer.from(saved);
  termios.cfmakeraw(raw);
  check(termios.tcsetattr(fd, TCSANOW, raw) as number, 'tcsetattr', `fd ${fd}`);
  return saved;
}

export function restoreTerminal(fd: number, saved: Buffer): void {
  check(termios.tcsetattr(fd, TCSANOW, saved) as number, 'tcsetattr', `fd ${fd}`);
}
