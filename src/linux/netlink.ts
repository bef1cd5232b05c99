// An rtnetlink socket (NETLINK_ROUTE) through libc: send a request, read
// its acknowledgement or its dump. The socket acts in the network namespace
// of the process that opened it. Messages are built and parsed in
// netlink-message.ts. Synchronous calls only: forked children use it too.
import { libc, syscallError } from './libc';
import { errnoName } from './errno';
import { SyscallError } from '../errors';
import { closeFd, openSocket } from './fd';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  RTM_NEWADDR,
  RTM_NEWLINK,
  dumpAddressesRequest,
  dumpLinksRequest,
  errorOfMessage,
  formatAddress,
  getLinkRequest,
  moveLinkRequest,
  newAddressRequest,
  parseAddress,
  parseLink,
  parseMessages,
  setLinkUpRequest,
  type LinkInfo,
  type NetAddress,
  type NetlinkMessage,
} from './netlink-message';

const c = {
  send: libc.func('long send(int fd, const uint8_t *buf, size_t len, int flags)'),
  recv: libc.func('long recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)'),
};

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const NETLINK_ROUTE = 0;
const EINTR = 4;
const ENODEV = 19;
/** Large enough for any one datagram a dump sends (the kernel sizes them to a page or so). */
const RECV_BYTES = 65536;

/** What a failure names: `netlink RTM_NEWLINK(eth5 -> netns): EEXIST`. */
interface Subject {
  call: string;
  subject: string;
}

export class RouteSocket {
  private readonly fd: number;
  private seq = 1;
  private readonly buf = Buffer.alloc(RECV_BYTES);

  constructor() {
    this.fd = openSocket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, 'AF_NETLINK, NETLINK_ROUTE');
  }

  close(): void {
    closeFd(this.fd);
  }

  /** The link named `name` in this socket's namespace, or undefined when there is none. */
  findLink(name: string): LinkInfo | undefined {
    try {
      const answer = this.transact(getLinkRequest(this.nextSeq(), name), { call: 'netlink RTM_GETLINK', subject: name });
      const link = answer.find((m) => m.type === RTM_NEWLINK);
      return link ? parseLink(link.payload) : undefined;
    } catch (err) {
      if (err instanceof SyscallError && err.errno === ENODEV) return undefined;
      throw err;
    }
  }

  /** Every link in this socket's namespace. */
  listLinks(): LinkInfo[] {
    const answer = this.transact(dumpLinksRequest(this.nextSeq()), { call: 'netlink RTM_GETLINK', subject: 'dump' });
    return answer.filter((m) => m.type === RTM_NEWLINK).map((m) => parseLink(m.payload));
  }

  /** Every address of every link in this socket's namespace. */
  listAddresses(): NetAddress[] {
    const answer = this.transact(dumpAddressesRequest(this.nextSeq()), { call: 'netlink RTM_GETADDR', subject: 'dump' });
    return answer.filter((m) => m.type === RTM_NEWADDR).map((m) => parseAddress(m.payload));
  }

  moveLink(link: LinkInfo, newName: string, nsFd: number): void {
    this.transact(moveLinkRequest(this.nextSeq(), link.index, newName, nsFd), { call: 'netlink RTM_NEWLINK', subject: `${link.name} -> netns as ${newName}` });
  }

  addAddress(index: number, linkName: string, addr: NetAddress): void {
    this.transact(newAddressRequest(this.nextSeq(), index, addr), { call: 'netlink RTM_NEWADDR', subject: `${formatAddress(addr)} on ${linkName}` });
  }

  setLinkUp(index: number, linkName: string): void {
    this.transact(setLinkUpRequest(this.nextSeq(), index), { call: 'netlink RTM_NEWLINK', subject: `${linkName} up` });
  }

  private nextSeq(): number {
    return this.seq++;
  }

  /**
   * Sends one request and reads until its end: the acknowledgement (an
   * NLMSG_ERROR with errno 0), or NLMSG_DONE of a dump. Returns the messages
   * before it; a non-zero errno is thrown as the request's SyscallError.
   */
  private transact(request: Buffer, what: Subject): NetlinkMessage[] {
    const seq = request.readUInt32LE(8);
    this.send(request, what);
    const answer: NetlinkMessage[] = [];
    for (;;) {
      for (const msg of this.receive(what)) {
        if (msg.seq !== seq) continue;
        if (msg.type === NLMSG_ERROR) {
          const errno = errorOfMessage(msg);
          if (errno !== 0) throw new SyscallError(what.call, errnoName(errno), errno, what.subject);
          return answer;
        }
        if (msg.type === NLMSG_DONE) return answer;
        answer.push(msg);
      }
    }
  }

  private send(request: Buffer, what: Subject): void {
    for (;;) {
      const n = c.send(this.fd, request, request.length, 0) as number;
      if (n >= 0) return;
      const err = syscallError(`send ${what.call}`, what.subject);
      if (err.errno !== EINTR) throw err;
    }
  }

  private receive(what: Subject): NetlinkMessage[] {
    for (;;) {
      const n = c.recv(this.fd, this.buf, this.buf.length, 0) as number;
      // A copy: the buffer is reused by the next recv while answers are still held.
      if (n >= 0) return parseMessages(Buffer.from(this.buf.subarray(0, n)));
      const err = syscallError(`recv ${what.call}`, what.subject);
      if (err.errno !== EINTR) throw err;
    }
  }
}

/** Runs `body` with a route socket of this process' network namespace, closed after. */
export function withRouteSocket<T>(body: (sock: RouteSocket) => T): T {
  const sock = new RouteSocket();
  try {
    return body(sock);
  } finally {
    sock.close();
  }
}
