// Bringing the loopback interface up in a new network namespace.
import { check, libc } from './libc';
import { closeFd, openSocket } from './fd';

const c = {
  ioctl: libc.func('int ioctl(int fd, unsigned long request, ...)'),
};

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
const IFREQ_BYTES = 40;
const IFNAMSIZ = 16;

export function bringLoopbackUp(): void {
  const sock = openSocket(AF_INET, SOCK_DGRAM, 0, 'AF_INET');
  try {
    const ifreq = Buffer.alloc(IFREQ_BYTES);
    ifreq.write('lo', 0, IFNAMSIZ - 1, 'latin1');
    check(c.ioctl(sock, SIOCGIFFLAGS, 'uint8_t *', ifreq) as number, 'ioctl(SIOCGIFFLAGS)', 'lo');
    const flags = ifreq.readUInt16LE(IFNAMSIZ) | IFF_UP;
    ifreq.writeUInt16LE(flags, IFNAMSIZ);
    check(c.ioctl(sock, SIOCSIFFLAGS, 'uint8_t *', ifreq) as number, 'ioctl(SIOCSIFFLAGS)', 'lo');
  } finally {
    closeFd(sock);
  }
}
