// Unix socket fd passing through libc: descriptors sent with SCM_RIGHTS
// arrive as working descriptors with the payload, and a socket path longer
// than sun_path is still reachable.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptUnix, connectUnix, listenUnix, recvFds, sendFds, waitReadable } from '../../src/linux/unix-socket';
import { closeFd, makePipe, readFd, writeFd } from '../../src/linux/fd';

describe('unix sockets', () => {
  let dir: string;
  const fds: number[] = [];
  const keep = (fd: number): number => (fds.push(fd), fd);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-sock-'));
  });
  afterEach(() => {
    for (const fd of fds.splice(0)) closeFd(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a payload with descriptors in one message', () => {
    const listener = keep(listenUnix(join(dir, 's'), { nonblocking: true }));
    assert.equal(acceptUnix(listener, { nonblocking: true }), null, 'nothing waits yet');
    const client = keep(connectUnix(join(dir, 's')));
    const server = keep(acceptUnix(listener, { nonblocking: true }) as number);
    assert.equal(recvFds(server, 100, 4, { dontWait: true }), null, 'nothing sent yet');
    const pipe = makePipe();
    keep(pipe.read);
    keep(pipe.write);
    sendFds(client, Buffer.from('{"hello":1}'), [pipe.write, pipe.read]);
    assert.ok(waitReadable(server, 1000));
    const got = recvFds(server, 100, 4)!;
    got.fds.forEach(keep);
    assert.equal(got.payload.toString(), '{"hello":1}');
    assert.equal(got.fds.length, 2);
    // The received write end feeds the original read end: the same pipe.
    writeFd(got.fds[0], 'through');
    assert.equal(readFd(pipe.read, 100).toString(), 'through');
    assert.equal(readlinkSync(`/proc/self/fd/${got.fds[1]}`), readlinkSync(`/proc/self/fd/${pipe.read}`));
  });

  it('sends a payload without descriptors, and reports the end of the stream', () => {
    const listener = keep(listenUnix(join(dir, 's')));
    const client = connectUnix(join(dir, 's'));
    const server = keep(acceptUnix(listener) as number);
    sendFds(client, Buffer.from('plain'), []);
    closeFd(client);
    const got = recvFds(server, 100, 1)!;
    assert.equal(got.payload.toString(), 'plain');
    assert.deepEqual(got.fds, []);
    assert.equal(recvFds(server, 100, 1)!.payload.length, 0);
  });

  it('reaches a socket whose path is longer than sun_path', () => {
    const listener = keep(listenUnix(join(dir, 's')));
    let deep = dir;
    while (deep.length < 150) deep = join(deep, 'a-rather-long-directory-name');
    mkdirSync(deep, { recursive: true });
    const long = join(deep, 'agent.sock');
    renameSync(join(dir, 's'), long);
    const client = keep(connectUnix(long));
    keep(acceptUnix(listener) as number);
    assert.ok(client > 2);
  });

  it('names the path when nothing listens', () => {
    assert.throws(() => connectUnix(join(dir, 'none')), /connect\(.*none\): ENOENT/);
  });
});
