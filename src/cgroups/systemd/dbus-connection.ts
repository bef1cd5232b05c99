// A blocking D-Bus connection to systemd. Blocking on purpose: the scope is
// made while stage 1 waits for `proceed`, inside the synchronous spawn
// protocol, where no event loop turns.
//
// It speaks to systemd's private socket (/run/systemd/private, root only, no
// bus daemon needed: what systemctl uses as root), or, failing that, through
// the system bus daemon. Every wait is bounded.
import { existsSync } from 'node:fs';
import { connectUnix, waitReadable } from '../../linux/unix-socket';
import { uidInParentNamespace } from '../../linux/userns';
import { closeFd, readFd, writeFd } from '../../linux/fd';
import { decodeMessage, encodeMessage, messageLength, MessageType, type DBusValue, type Message } from './dbus-wire';

export const SYSTEMD_PRIVATE_SOCKET = '/run/systemd/private';
export const SYSTEM_BUS_SOCKET = '/run/dbus/system_bus_socket';

/** A D-Bus error reply: `name` is the error's name (org.freedesktop.systemd1.NoSuchUnit, ...). */
export class DBusError extends Error {
  constructor(
    readonly errorName: string,
    readonly text: string,
    readonly call: string,
  ) {
    super(`${call}: ${errorName}: ${text}`);
    this.name = 'DBusError';
  }
}

interface CallSpec {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: DBusValue[];
}

export class DBusConnection {
  private serial = 0;
  private pending = Buffer.alloc(0);
  /** Signals read while waiting for a reply, in arrival order. */
  private readonly signals: Message[] = [];

  private constructor(
    private readonly fd: number,
    readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Straight to systemd (its private socket, the system's or a user
   * instance's), no bus daemon between: no Hello, no match rules needed.
   */
  get direct(): boolean {
    return this.socketPath.endsWith('/systemd/private');
  }

  /** Connects and authenticates (SASL EXTERNAL: the kernel vouches for our uid). */
  static open(socketPath: string, timeoutMs = 10_000): DBusConnection {
    const fd = connectUnix(socketPath);
    const conn = new DBusConnection(fd, socketPath, timeoutMs);
    try {
      conn.authenticate();
      if (conn.direct) conn.awaitRunning();
      else conn.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' });
      return conn;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** systemd's private socket when it is there, else the system bus. */
  static toSystemd(): DBusConnection {
    return DBusConnection.open(existsSync(SYSTEMD_PRIVATE_SOCKET) ? SYSTEMD_PRIVATE_SOCKET : SYSTEM_BUS_SOCKET);
  }

  close(): void {
    closeFd(this.fd);
  }

  /**
   * The uid claimed is ours as the server sees it: root of rootless podman's
   * user namespace is the user outside, which is who the user's systemd
   * finds through SO_PEERCRED.
   */
  private authenticate(): void {
    const uid = process.getuid?.() ?? 0;
    const uidHex = Buffer.from(String(uidInParentNamespace(uid) ?? uid)).toString('hex');
    writeFd(this.fd, Buffer.concat([Buffer.alloc(1), Buffer.from(`AUTH EXTERNAL ${uidHex}\r\n`)]));
    const answer = this.readLine();
    if (!answer.startsWith('OK ')) throw new Error(`D-Bus ${this.socketPath}: authentication refused: ${answer}`);
    writeFd(this.fd, 'BEGIN\r\n');
  }

  /**
   * systemd 252 (measured here: about one connection in fifteen, every time
   * when BEGIN and a call go in one write) can read the first call together
   * with BEGIN and then leave it in its buffer until more bytes arrive. So
   * ping until it answers, sooner each time: every ping is more bytes, and
   * an answer proves the connection is running.
   */
  private awaitRunning(): void {
    const deadline = Date.now() + this.timeoutMs;
    const pinged: number[] = [];
    for (let wait = 10; ; wait = Math.min(wait * 2, 1000)) {
      pinged.push(this.send({ destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' }));
      const until = Math.min(Date.now() + wait, deadline);
      for (let m = this.nextMessage(until); m; m = this.nextMessage(until)) {
        if (m.type === MessageType.signal) this.signals.push(m);
        else if (m.replySerial !== undefined && pinged.includes(m.replySerial)) return;
      }
      if (Date.now() >= deadline) throw new Error(`D-Bus ${this.socketPath}: no answer to Ping within ${this.timeoutMs / 1000}s`);
    }
  }

  private send(c: CallSpec): number {
    const serial = ++this.serial;
    writeFd(this.fd, encodeMessage({ type: MessageType.methodCall, serial, ...c, signature: c.signature ?? '', body: c.body ?? [] }));
    return serial;
  }

  /** Calls a method and returns the reply's body; an error reply throws DBusError. */
  call(c: CallSpec): DBusValue[] {
    const serial = this.send(c);
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const m = this.readMessage(deadline, `${c.member}`);
      if (m.type === MessageType.signal) {
        this.signals.push(m);
        continue;
      }
      if (m.replySerial !== serial) continue;
      if (m.type === MessageType.error) throw new DBusError(m.errorName ?? 'error', String(m.body[0] ?? ''), c.member);
      return m.body;
    }
  }

  /** The first signal (already queued or arriving within the timeout) that `matches`. */
  waitForSignal(what: string, matches: (m: Message) => boolean): Message {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const queued = this.signals.findIndex(matches);
      if (queued >= 0) return this.signals.splice(queued, 1)[0];
      const m = this.readMessage(deadline, what);
      if (m.type === MessageType.signal) this.signals.push(m);
    }
  }

  private readMessage(deadline: number, what: string): Message {
    const m = this.nextMessage(deadline);
    if (!m) throw new Error(`D-Bus ${this.socketPath}: no answer to ${what} within ${this.timeoutMs / 1000}s`);
    return m;
  }

  /** The next whole message, or null if none has come by `deadline` (ms since the epoch). */
  private nextMessage(deadline: number): Message | null {
    while (this.pending.length < 16 || this.pending.length < messageLength(this.pending)) {
      if (!this.fill(deadline)) return null;
    }
    const length = messageLength(this.pending);
    const data = this.pending.subarray(0, length);
    this.pending = this.pending.subarray(length);
    return decodeMessage(data);
  }

  private readLine(): string {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const end = this.pending.indexOf('\r\n');
      if (end >= 0) {
        const line = this.pending.toString('utf8', 0, end);
        this.pending = this.pending.subarray(end + 2);
        return line;
      }
      if (!this.fill(deadline)) throw new Error(`D-Bus ${this.socketPath}: no answer to authentication within ${this.timeoutMs / 1000}s`);
    }
  }

  /** Reads what has come by `deadline`; false if nothing did. */
  private fill(deadline: number): boolean {
    const left = deadline - Date.now();
    if (left <= 0 || !waitReadable(this.fd, left)) return false;
    const chunk = readFd(this.fd, 65536);
    if (chunk.length === 0) throw new Error(`D-Bus ${this.socketPath}: the peer closed the connection`);
    this.pending = Buffer.concat([this.pending, chunk]);
    return true;
  }
}
