// process.terminal on real containers: the pty master goes to a console
// socket (this test is the receiver) before `create` returns, the container's
// stdio is the slave (/dev/pts/0, also bound on /dev/console), consoleSize
// applies, input typed on the master reaches the container; runc's rules on
// --console-socket; and `run` in the foreground relays the pty to tsrun's own
// terminal (given by a python3 pty) with window size and exit code.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session, nonEmptyLines, waitFor } from '../helpers/session';
import { TSRUN } from '../helpers/harness';
import type { Spec } from '../../src/spec/types';
import { acceptUnix, listenUnix, recvFds, waitReadable } from '../../src/linux/unix-socket';
import { closeFd, readFd, writeFd } from '../../src/linux/fd';
import { SyscallError } from '../../src/errors';

const withTerminal =
  (size?: { height: number; width: number }, more?: (spec: Spec) => void) =>
  (spec: Spec): void => {
    spec.process!.terminal = true;
    if (size) spec.process!.consoleSize = size;
    more?.(spec);
  };

/**
 * Runs argv with a new pty as its controlling terminal and stdio (sized
 * rows x cols). Once the output shows PTY_TYPE_AFTER, it resizes the pty to
 * PTY_RESIZE ("rows cols", which signals SIGWINCH to the foreground group),
 * waits a little and types PTY_TYPE. Prints everything read from the pty and
 * a last line "termios-restored <0|1>" (echo and canonical mode back on),
 * and exits with argv's status.
 */
const PTY_RUNNER = String.raw`
import fcntl, os, select, struct, subprocess, sys, termios, time
rows, cols = int(sys.argv[1]), int(sys.argv[2])
m, s = os.openpty()
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
before = termios.tcgetattr(s)
def ctty():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
p = subprocess.Popen(sys.argv[3:], stdin=s, stdout=s, stderr=s, start_new_session=True, preexec_fn=ctty)
after_marker = os.environ.get('PTY_TYPE_AFTER', '').encode()
typed = not after_marker
out = b''
deadline = time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([m], [], [], 0.2)
    if r:
        try:
            d = os.read(m, 4096)
        except OSError:
            break
        if not d:
            break
        out += d
    elif p.poll() is not None:
        break
    if not typed and after_marker in out:
        typed = True
        if os.environ.get('PTY_RESIZE'):
            r2, c2 = map(int, os.environ['PTY_RESIZE'].split())
            fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack('HHHH', r2, c2, 0, 0))
            time.sleep(0.5)
        os.write(m, os.environ.get('PTY_TYPE', '').encode())
code = p.wait()
now = termios.tcgetattr(s)
restored = (now[3] & (termios.ECHO | termios.ICANON)) == (before[3] & (termios.ECHO | termios.ICANON)) and (now[1] & termios.OPOST) == (before[1] & termios.OPOST)
sys.stdout.buffer.write(out + b'\ntermios-restored ' + (b'1' if restored else b'0') + b'\n')
sys.exit(code)
`;

describe('terminal', function () {
  this.timeout(60000);
  let s: Session;
  let dir: string;
  const fds: number[] = [];
  const keep = (fd: number): number => (fds.push(fd), fd);

  beforeEach(() => {
    s = new Session();
    dir = mkdtempSync(join(tmpdir(), 'tsrun-tty-'));
  });
  afterEach(() => {
    for (const fd of fds.splice(0)) closeFd(fd);
    s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A console socket this test listens on. */
  function consoleSocket(): { path: string; listener: number } {
    const path = join(dir, 'console.sock');
    return { path, listener: keep(listenUnix(path)) };
  }

  /** The one message a create sent: payload and the master. */
  function receiveMaster(listener: number): { payload: string; master: number } {
    assert.ok(waitReadable(listener, 5000), 'nobody connected to the console socket');
    const conn = keep(acceptUnix(listener) as number);
    const got = recvFds(conn, 256, 4)!;
    got.fds.forEach(keep);
    assert.equal(got.fds.length, 1, `one descriptor expected, got ${got.fds.length}`);
    // The runtime closed its end: nothing more comes.
    assert.equal(recvFds(conn, 256, 1)!.payload.length, 0);
    return { payload: got.payload.toString(), master: got.fds[0] };
  }

  /** Reads the master until `until` shows up, or every slave is closed (EIO), or the time is up. */
  function readMaster(master: number, until: (text: string) => boolean = () => false, timeoutMs = 10000): string {
    let text = '';
    const deadline = Date.now() + timeoutMs;
    while (!until(text) && Date.now() < deadline) {
      if (!waitReadable(master, 100)) continue;
      try {
        const chunk = readFd(master, 4096);
        if (chunk.length === 0) break;
        text += chunk.toString('utf8');
      } catch (err) {
        if (err instanceof SyscallError && err.errnoName === 'EIO') break;
        throw err;
      }
    }
    return text;
  }

  /** Waits for a started container's process to exit; its status from `state`. */
  async function waitStopped(id: string): Promise<void> {
    assert.ok(await waitFor(() => s.state(id).status === 'stopped', 10000), 'the container did not stop');
  }

  it('sends the master to --console-socket before create returns; the process has /dev/pts/0 as its terminal', async () => {
    const script = 'tty; stty size; stat -c "%t:%T" /dev/console $(tty); [ -t 0 ] && [ -t 2 ] && echo stdio-is-tty; echo ready; read line; echo "got:$line"';
    const bundle = s.bundle(['sh', '-c', script], withTerminal({ height: 25, width: 80 }));
    const sock = consoleSocket();
    const id = s.id('tty');
    s.create(id, bundle, ['--console-socket', sock.path]);
    // Sent before create returned: already waiting to be accepted.
    const { payload, master } = receiveMaster(sock.listener);
    assert.equal(payload, '/dev/ptmx');
    assert.equal(s.state(id).status, 'created');
    s.ok(['start', id]);
    const before = readMaster(master, (t) => t.includes('ready'));
    writeFd(master, 'hello\n');
    const text = before + readMaster(master);
    const lines = nonEmptyLines(text.replace(/\r/g, ''));
    assert.equal(lines[0], '/dev/pts/0', text);
    assert.equal(lines[1], '25 80', text);
    // /dev/console is the slave, bound: same device numbers (pty slaves are major 136 = 0x88).
    assert.match(lines[2], /^88:0$/, text);
    assert.equal(lines[3], '88:0', text);
    assert.ok(lines.includes('stdio-is-tty'), text);
    assert.ok(lines.includes('got:hello'), text);
    await waitStopped(id);
    s.ok(['delete', id]);
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  it('gives the slave to the process user', async () => {
    const bundle = s.bundle(['sh', '-c', 'id -u; stat -c "%u %g" $(tty)'], withTerminal(undefined, (spec) => (spec.process!.user = { uid: 1000, gid: 1000 })));
    const sock = consoleSocket();
    const id = s.id('tty');
    s.create(id, bundle, ['--console-socket', sock.path]);
    const { master } = receiveMaster(sock.listener);
    s.ok(['start', id]);
    const lines = nonEmptyLines(readMaster(master).replace(/\r/g, ''));
    assert.equal(lines[0], '1000');
    // The uid changes; the group stays devpts' tty group (gid=5), as runc leaves it.
    assert.equal(lines[1], '1000 5');
    await waitStopped(id);
  });

  it('works in a user namespace', async () => {
    const bundle = s.bundle(['sh', '-c', 'tty; stty size; id -u'], withTerminal({ height: 30, width: 100 }, (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    }));
    const chown = spawnSync('chown', ['-R', '100000:100000', bundle.rootfs]);
    assert.equal(chown.status, 0);
    chmodSync(bundle.dir, 0o711);
    const sock = consoleSocket();
    const id = s.id('tty');
    s.create(id, bundle, ['--console-socket', sock.path]);
    const { master } = receiveMaster(sock.listener);
    s.ok(['start', id]);
    assert.deepEqual(nonEmptyLines(readMaster(master).replace(/\r/g, '')), ['/dev/pts/0', '30 100', '0']);
    await waitStopped(id);
  });

  it('refuses create with terminal: true and no --console-socket, leaving nothing', () => {
    const bundle = s.bundle(['true'], withTerminal());
    const id = s.id('tty');
    const r = s.exec(['create', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 1);
    assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /cannot allocate tty if tsrun will detach without setting console socket/);
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  it('refuses --console-socket with terminal: false, leaving nothing', () => {
    const bundle = s.bundle(['true']);
    const sock = consoleSocket();
    const id = s.id('tty');
    const r = s.exec(['create', '--bundle', bundle.dir, '--console-socket', sock.path, id]);
    assert.equal(r.status, 1);
    assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /cannot use console socket if tsrun will not detach or allocate tty/);
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  for (const [what, make] of [
    ['no file', (path: string): void => void path],
    ['no listener', (path: string): void => closeFd(listenUnix(path))],
  ] as const) {
    it(`fails create clearly on a console socket with ${what}, leaving nothing`, () => {
      const bundle = s.bundle(['true'], withTerminal());
      const path = join(dir, 'nobody.sock');
      make(path);
      const id = s.id('tty');
      const r = s.exec(['create', '--bundle', bundle.dir, '--console-socket', path, id]);
      assert.equal(r.status, 1);
      assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
      assert.ok(r.stderr.includes(`console socket ${path}: connect: E`), r.stderr);
      assert.deepEqual(s.leftovers(bundle, id), []);
    });
  }

  it('run --detach sends the master to --console-socket; run in the foreground refuses one', async () => {
    const bundle = s.bundle(['sh', '-c', 'tty; exit 0'], withTerminal());
    const sock = consoleSocket();
    const refused = s.exec(['run', '--bundle', bundle.dir, '--console-socket', sock.path, s.id('tty')]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /cannot use console socket if tsrun will not detach or allocate tty/);
    const detachedNoSocket = s.exec(['run', '--detach', '--bundle', bundle.dir, s.id('tty')]);
    assert.equal(detachedNoSocket.status, 1);
    assert.match(detachedNoSocket.stderr, /cannot allocate tty/);
    assert.deepEqual(s.rootEntries(), []);
    const id = s.id('tty');
    s.ok(['run', '--detach', '--bundle', bundle.dir, '--console-socket', sock.path, id]);
    const { master } = receiveMaster(sock.listener);
    assert.equal(readMaster(master).replace(/\r/g, ''), '/dev/pts/0\n');
    await waitStopped(id);
  });

  /** `tsrun run` under a python3 pty of the given size; its output and status. */
  function runUnderPty(rows: number, cols: number, bundleDir: string, id: string, env: Record<string, string> = {}): { status: number | null; out: string } {
    const r = spawnSync('python3', ['-c', PTY_RUNNER, String(rows), String(cols), TSRUN, '--root', s.root, 'run', '--bundle', bundleDir, id], {
      encoding: 'utf8',
      timeout: 60000,
      env: { ...process.env, ...env },
    });
    assert.equal(r.error, undefined);
    return { status: r.status, out: (r.stdout ?? '').replace(/\r/g, '') + r.stderr };
  }

  it('run in the foreground relays the pty to its own terminal and exits with the container code', () => {
    const bundle = s.bundle(['sh', '-c', 'tty; stty size; exit 3'], withTerminal({ height: 25, width: 80 }));
    const id = s.id('tty');
    const { status, out } = runUnderPty(40, 132, bundle.dir, id);
    assert.equal(status, 3, out);
    const lines = nonEmptyLines(out);
    assert.equal(lines[0], '/dev/pts/0', out);
    // tsrun's own terminal size wins over consoleSize, as in runc.
    assert.equal(lines[1], '40 132', out);
    assert.equal(lines.at(-1), 'termios-restored 1', out);
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  it('run in the foreground passes typed input and window size changes to the container', () => {
    const script = 'stty size; echo ready; read line; stty size; echo "got:$line"; exit 4';
    const bundle = s.bundle(['sh', '-c', script], withTerminal());
    const id = s.id('tty');
    const { status, out } = runUnderPty(24, 80, bundle.dir, id, { PTY_TYPE_AFTER: 'ready', PTY_RESIZE: '50 160', PTY_TYPE: 'typed words\r' });
    assert.equal(status, 4, out);
    const lines = nonEmptyLines(out);
    assert.equal(lines[0], '24 80', out);
    assert.ok(lines.includes('50 160'), out);
    assert.ok(lines.includes('got:typed words'), out);
    assert.equal(lines.at(-1), 'termios-restored 1', out);
    assert.deepEqual(s.leftovers(bundle, id), []);
  });

  it('run in the foreground copies the pty when its own stdio is no terminal', () => {
    const bundle = s.bundle(['sh', '-c', 'tty; stty size; exit 5'], withTerminal({ height: 25, width: 80 }));
    const id = s.id('tty');
    const r = s.exec(['run', '--bundle', bundle.dir, id]);
    assert.equal(r.status, 5, r.stderr);
    assert.equal(r.stdout.replace(/\r/g, ''), '/dev/pts/0\n25 80\n');
    assert.equal(r.stderr, '');
    assert.deepEqual(s.leftovers(bundle, id), []);
  });
});
