// Bringing the loopback interface up in a new network namespace.
import { check, libc } from './libc';

const c = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  ioctl: libc.func('int ioctl(int fd, unsigned long request, ...)'),
  close: libc.func('int close(int fd)'),
};

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
const IFREQ_BYTES = 40;
const IFNAMSIZ = 16;

export function bringLoopbackUp(): void {
  const sock = check(c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) as number, 'socket', 'AF_INET');
  try {
    const ifreq = Buffer.alloc(IFREQ_BYTES);
    ifreq.write('lo', 0, IFNAMSIZ - 1, 'latin1');
    check(c.ioctl(sock, SIOCGIFFLAGS, 'uint8_t *', ifreq) as number, 'ioctl(SIOCGIFFLAGS)', 'lo');
    const flags = ifreq.readUInt16LE(IFNAMSIZ) | IFF_UP;
    ifreq.writeUInt16LE(flags, IFNAMSIZ);
    check(c.ioctl(sock, SIOCSIFFLAGS, 'uint8_t *', ifreq) as number, 'ioctl(SIOCSIFFLAGS)', 'lo');
  } finally {
    c.close(sock);
  }
}
