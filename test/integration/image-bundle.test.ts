// `tsrun bundle --from`, end to end: an image built by podman from the test
// busybox rootfs (a private podman store; nothing downloaded) with a user,
// owners, modes, links, a whiteout and an opaque directory over several
// layers, saved as a docker-archive, an oci-archive and an OCI layout; each
// unpacked by tsrun and run with `tsrun run`, checked from inside, and its
// rootfs compared with umoci's unpacking of the same layout. Then rootfs
// tarballs (file and standard input), the progress bar, and bad input:
// one line, exit 1, nothing left in the bundle directory.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_ROOTFS, REPO, Runtime, TSRUN, tempDir, uniqueId, type Result } from '../helpers/harness';
import { describeResult, missingBinary } from '../helpers/engines';
import { Podman } from '../helpers/podman';
import { tarOf } from '../helpers/image-archives';
import { waitFor } from '../helpers/session';
import type { Spec } from '../../src/spec/types';

const IMAGE = 'localhost/tsrun-image-test:v1';
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];

/** Layers: the base rootfs; COPY of /data; a RUN adding a user, owners, modes, links, and removing /bin/vi; a RUN replacing /opq. */
const CONTAINERFILE = `FROM localhost/tsrun-image-base:v1
COPY data /data
RUN echo app:x:1234:1234::/data:/bin/sh >> /etc/passwd && echo app:x:1234: >> /etc/group && echo extra:x:2000:app >> /etc/group \\
 && chown 1234:1234 /data/greeting && chmod 640 /data/greeting && ln -s greeting /data/link && ln /data/greeting /data/hard \\
 && chmod 4755 /data/tool && rm /bin/vi && mkdir -p /opq/sub && touch /opq/old /opq/sub/older
RUN rm -rf /opq && mkdir /opq && touch /opq/new
USER app
WORKDIR /data
ENV GREETING=hi
ENTRYPOINT ["sh", "-c"]
CMD ["echo entry; id -u; id -g; id -G; pwd; echo $GREETING; cat greeting"]
LABEL org.example.test=yes
STOPSIGNAL SIGUSR1
`;

/** What a tree holds, entry by entry: type, mode, owner, and the link target or content digest. */
function treeOf(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(root, path));
      const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `link ${readlinkSync(join(root, path))}` : st.isFile() ? `file ${createHash('sha256').update(readFileSync(join(root, path))).digest('hex').slice(0, 16)}` : `special ${st.rdev}`;
      out.set(path, `${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

function differences(a: Map<string, string>, b: Map<string, string>): string[] {
  const diffs: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) diffs.push(`${k}: ${v} | ${b.get(k) ?? 'absent'}`);
  for (const k of b.keys()) if (!a.has(k)) diffs.push(`${k}: absent | ${b.get(k)}`);
  return diffs;
}

function tsrunBundle(args: string[], input?: Buffer): Result {
  const r = spawnSync(TSRUN, ['bundle', ...args], { input, encoding: 'utf8', timeout: 300000, maxBuffer: 1 << 26 });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The one line of a failed command's stderr (asserting there is exactly one). */
function oneLine(r: Result): string {
  assert.equal(r.status, 1, `exit status ${r.status}: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line expected: ${r.stderr}`);
  return lines[0];
}

function readSpec(dir: string): Spec {
  return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
}

function withArgs(dir: string, args: string[], user?: { uid: number; gid: number }): void {
  const spec = readSpec(dir);
  spec.process!.args = args;
  spec.process!.terminal = false;
  if (user !== undefined) spec.process!.user = user;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
}

const missing = missingBinary('podman', 'conmon', 'umoci');
const maybe = missing ? describe.skip : describe;

maybe(`tsrun bundle --from${missing ? ` (skipped: ${missing} is not installed)` : ''}`, function () {
  this.timeout(600000);
  let pm: Podman;
  let work: string;
  const rt = new Runtime();
  const paths = { docker: '', ociArchive: '', layout: '', umoci: '', rootfsTar: '', rootfsTgz: '' };

  before(function () {
    this.timeout(900000);
    pm = new Podman();
    work = tempDir('tsrun-image-');
    const tar = spawnSync('tar', ['-C', BUSYBOX_ROOTFS, '-c', '.'], { maxBuffer: 1 << 30 });
    assert.equal(tar.status, 0, String(tar.stderr));
    const imported = spawnSync('podman', [...pm.global, 'import', '-', 'localhost/tsrun-image-base:v1'], { input: tar.stdout, env: pm.env, encoding: 'utf8', timeout: 600000 });
    assert.equal(imported.status, 0, imported.stderr);
    const ctx = join(work, 'ctx');
    mkdirSync(join(ctx, 'data'), { recursive: true });
    writeFileSync(join(ctx, 'data', 'greeting'), 'hello\n');
    writeFileSync(join(ctx, 'data', 'tool'), '#!/bin/sh\n');
    writeFileSync(join(ctx, 'Containerfile'), CONTAINERFILE);
    pm.ok(['build', '--network', 'none', ...ULIMITS, '-t', IMAGE, ctx], { timeoutMs: 900000 });
    Object.assign(paths, {
      docker: join(work, 'app-docker.tar'),
      ociArchive: join(work, 'app-oci.tar'),
      layout: join(work, 'app-layout'),
      umoci: join(work, 'umoci-bundle'),
      rootfsTar: join(work, 'rootfs.tar'),
      rootfsTgz: join(work, 'rootfs.tar.gz'),
    });
    pm.ok(['save', '--format', 'docker-archive', '-o', paths.docker, IMAGE]);
    pm.ok(['save', '--format', 'oci-archive', '-o', paths.ociArchive, IMAGE]);
    pm.ok(['save', '--format', 'oci-dir', '-o', paths.layout, IMAGE]);
    const u = spawnSync('umoci', ['unpack', '--image', `${paths.layout}:${IMAGE}`, paths.umoci], { encoding: 'utf8' });
    assert.equal(u.status, 0, u.stderr);
    writeFileSync(paths.rootfsTar, tar.stdout);
    assert.equal(spawnSync('sh', ['-c', `gzip -c < '${paths.rootfsTar}' > '${paths.rootfsTgz}'`]).status, 0);
  });

  after(() => {
    rt.destroy();
    pm?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function freshDir(): string {
    return join(work, uniqueId('b'));
  }

  it('docker-archive: the entrypoint runs as the image user, in its working dir, with its environment', () => {
    const dir = freshDir();
    const r = tsrunBundle(['--from', paths.docker, dir]);
    assert.equal(r.status, 0, describeResult(['tsrun bundle'], r));
    assert.equal(r.stderr, '', 'nothing on stderr when it is not a terminal');
    const run = rt.run(['run', '--bundle', dir, uniqueId('img')], { timeoutMs: 60000 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.split('\n'), ['entry', '1234', '1234', '1234 2000', '/data', 'hi', 'hello', '']);
  });

  it('config.json follows the image config: user, cwd, env, labels and stop signal as annotations, a writable rootfs', () => {
    const dir = freshDir();
    assert.equal(tsrunBundle(['--from', paths.ociArchive, dir]).status, 0);
    const spec = readSpec(dir);
    assert.deepEqual(spec.process?.args, ['sh', '-c', 'echo entry; id -u; id -g; id -G; pwd; echo $GREETING; cat greeting']);
    assert.deepEqual(spec.process?.user, { uid: 1234, gid: 1234, additionalGids: [2000] });
    assert.equal(spec.process?.cwd, '/data');
    assert.equal(spec.process?.terminal, false);
    assert.ok(spec.process?.env?.includes('GREETING=hi'), String(spec.process?.env));
    assert.ok(spec.process?.env?.some((e) => e.startsWith('PATH=')), String(spec.process?.env));
    assert.equal(spec.annotations?.['org.example.test'], 'yes');
    assert.equal(spec.annotations?.['org.opencontainers.image.stopSignal'], 'SIGUSR1');
    assert.equal(spec.root?.readonly, false);
  });

  it('every form of the image unpacks to the rootfs umoci makes of it (paths, modes, owners, links, contents)', () => {
    const want = treeOf(join(paths.umoci, 'rootfs'));
    for (const source of [['--from', paths.layout, '--ref', IMAGE], ['--from', paths.ociArchive], ['--from', paths.docker]]) {
      const dir = freshDir();
      const r = tsrunBundle([...source, dir]);
      assert.equal(r.status, 0, describeResult(source, r));
      assert.deepEqual(differences(treeOf(join(dir, 'rootfs')), want), [], source.join(' '));
    }
  });

  it('from inside: whited-out and opaque entries are gone, owners, modes and links are the image\'s', () => {
    const dir = freshDir();
    assert.equal(tsrunBundle(['--from', paths.docker, dir]).status, 0);
    const script = 'stat -c "%a %u %g %h" /data/greeting /data/tool; readlink /data/link; [ /data/hard -ef /data/greeting ] && echo hard; ls /opq; [ -e /bin/vi ] || echo no-vi';
    withArgs(dir, ['sh', '-c', script], { uid: 0, gid: 0 });
    const run = rt.run(['run', '--bundle', dir, uniqueId('img')]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.split('\n'), ['640 1234 1234 2', '4755 0 0 1', 'greeting', 'hard', 'new', 'no-vi', '']);
  });

  it('a rootfs tarball, from a file (.tar.gz) and from standard input (.tar): the rootfs and the config tsrun spec writes', () => {
    const spec = tempDir('tsrun-spec-');
    try {
      assert.equal(spawnSync(TSRUN, ['spec', '--bundle', spec]).status, 0);
      const want = treeOf(BUSYBOX_ROOTFS);
      for (const [args, input] of [[['--from', paths.rootfsTgz]], [['--from', '-'], readFileSync(paths.rootfsTar)]] as Array<[string[], Buffer?]>) {
        const dir = freshDir();
        const r = tsrunBundle([...args, dir], input);
        assert.equal(r.status, 0, describeResult(args, r));
        assert.deepEqual(differences(treeOf(join(dir, 'rootfs')), want), [], args.join(' '));
        assert.equal(readFileSync(join(dir, 'config.json'), 'utf8'), readFileSync(join(spec, 'config.json'), 'utf8'));
        withArgs(dir, ['echo', 'from-tarball']);
        const run = rt.run(['run', '--bundle', dir, uniqueId('tar')]);
        assert.equal(run.stdout, 'from-tarball\n', run.stderr);
      }
    } finally {
      rmSync(spec, { recursive: true, force: true });
    }
  });

  it('draws a progress bar per layer on a terminal; --quiet draws none', () => {
    const dir = freshDir();
    const shown = spawnSync('script', ['-qec', `${TSRUN} bundle --from ${paths.docker} ${dir}`, '/dev/null'], { encoding: 'utf8', timeout: 120000 });
    assert.equal(shown.status, 0, shown.stdout);
    for (const n of [1, 2, 3, 4]) assert.match(shown.stdout, new RegExp(`layer ${n}/4 [0-9a-f]{12} \\[#{24}\\] [0-9.]+ [kM]B / [0-9.]+ [kM]B`), shown.stdout);
    const quietDir = freshDir();
    const quiet = spawnSync('script', ['-qec', `${TSRUN} bundle --quiet --from ${paths.docker} ${quietDir}`, '/dev/null'], { encoding: 'utf8', timeout: 120000 });
    assert.equal(quiet.status, 0, quiet.stdout);
    assert.doesNotMatch(quiet.stdout, /layer/);
  });

  it('bad input: one line naming the problem, exit 1, and nothing left in the bundle directory', () => {
    const bad = join(work, 'bad');
    mkdirSync(bad);
    const notArchive = join(bad, 'not-an-archive');
    writeFileSync(notArchive, 'this is not a tar archive at all\n'.repeat(100));
    const truncated = join(bad, 'truncated.tar');
    const whole = readFileSync(paths.docker);
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    // A layout whose first layer blob lost a byte in its middle (still gzip
    // framing until the end, but not the bytes the manifest names) and one
    // whose config blob is gone.
    const corrupt = join(bad, 'corrupt-layout');
    cpSync(paths.layout, corrupt, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(corrupt, 'blobs', 'sha256', (JSON.parse(readFileSync(join(corrupt, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }).manifests[0].digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
    const layerBlob = join(corrupt, 'blobs', 'sha256', manifest.layers[1].digest.slice(7));
    const layerBytes = readFileSync(layerBlob);
    rmSync(layerBlob);
    writeFileSync(layerBlob, Buffer.concat([layerBytes, Buffer.from('trailing')]));
    const noConfig = join(bad, 'no-config-layout');
    cpSync(paths.layout, noConfig, { recursive: true });
    rmSync(join(noConfig, 'blobs', 'sha256', manifest.config.digest.slice(7)));
    const cases: Array<[string[], RegExp]> = [
      [['--from', notArchive], /not-an-archive.*(not|unknown).*(archive|tar)/i],
      [['--from', truncated], /truncated|unexpected end/i],
      [['--from', corrupt], /digest|sha256:[0-9a-f]/],
      [['--from', noConfig], /sha256:[0-9a-f]+.*(missing|not in|no such)|(missing|not in).*sha256:[0-9a-f]+/i],
      [['--from', paths.layout, '--ref', 'no-such-ref'], /no-such-ref/],
      [['--from', join(bad, 'absent')], /absent/],
      [[], /--from/],
    ];
    for (const [args, pattern] of cases) {
      const dir = freshDir();
      const line = oneLine(tsrunBundle([...args, dir]));
      assert.match(line, pattern, args.join(' '));
      assert.equal(existsSync(dir), false, `${args.join(' ')} left ${dir}`);
    }
    // An existing directory keeps what it had, and only that.
    const existing = freshDir();
    mkdirSync(join(existing, 'rootfs'), { recursive: true });
    assert.match(oneLine(tsrunBundle(['--from', paths.docker, existing])), /rootfs exists/);
    assert.deepEqual(readdirSync(existing), ['rootfs']);
    const other = freshDir();
    mkdirSync(other);
    writeFileSync(join(other, 'keep'), '');
    oneLine(tsrunBundle(['--from', truncated, other]));
    assert.deepEqual(readdirSync(other), ['keep']);
  });

  it('a full disk: the error names ENOSPC and the entry, and the disk is left empty', () => {
    const disk = join(work, uniqueId('disk'));
    mkdirSync(disk);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tsrun-test', disk], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    try {
      const dir = join(disk, 'b');
      assert.match(oneLine(tsrunBundle(['--from', paths.docker, dir])), /ENOSPC/);
      assert.deepEqual(readdirSync(disk), []);
    } finally {
      spawnSync('umount', [disk]);
    }
  });

  it('a hostile rootfs tarball never writes outside the bundle: links are contained, ".." is refused', async () => {
    const canary = `tsrun-canary-${process.pid}-${Date.now()}`;
    const contained = await tarOf([
      { name: 'up', type: 'symlink', linkname: '../../../../../../tmp' },
      { name: `up/${canary}`, data: 'inside\n' },
      { name: 'abs', type: 'symlink', linkname: '/tmp' },
      { name: `abs/${canary}-2`, data: 'inside\n' },
    ]);
    const dir = freshDir();
    const r = tsrunBundle(['--from', '-', dir], contained);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(existsSync(`/tmp/${canary}`) || existsSync(`/tmp/${canary}-2`), false, 'written outside the rootfs');
    assert.equal(readFileSync(join(dir, 'rootfs', 'tmp', canary), 'utf8'), 'inside\n');
    assert.equal(readFileSync(join(dir, 'rootfs', 'tmp', `${canary}-2`), 'utf8'), 'inside\n');
    for (const entry of [{ name: `../${canary}`, data: 'x' }, { name: 'h', type: 'link' as const, linkname: '../../../../etc/passwd' }]) {
      const refusedDir = freshDir();
      const line = oneLine(tsrunBundle(['--from', '-', refusedDir], await tarOf([entry])));
      assert.match(line, /"(\.\.\/tsrun-canary|h)/, line);
      assert.equal(existsSync(refusedDir), false);
    }
    assert.equal(existsSync(join(work, canary)), false);
  });

  it("the README's recipe, as written: an image without a registry, a bundle, a shell on the terminal", () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## From an image to a running container'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 3, block);
    // Run where a new user would: a directory with the checkout's bundles/, tsrun on PATH.
    const cwd = join(work, uniqueId('readme'));
    mkdirSync(join(cwd, 'bin'), { recursive: true });
    symlinkSync(join(REPO, 'bundles'), join(cwd, 'bundles'));
    symlinkSync(TSRUN, join(cwd, 'bin', 'tsrun'));
    const env = { ...process.env, PATH: `${join(cwd, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    for (const line of lines.slice(0, 2)) {
      const r = spawnSync('sh', ['-c', line], { cwd, env, encoding: 'utf8', timeout: 120000 });
      assert.equal(r.status, 0, `${line}: ${r.stderr}`);
    }
    // The last line runs a shell on a terminal: script(1) gives it one and types into it.
    const shell = spawnSync('script', ['-qec', lines[2].replace(/#.*/, ''), '/dev/null'], { cwd, env, encoding: 'utf8', input: 'echo readme-$((6*7))\nexit 3\n', timeout: 120000 });
    assert.match(shell.stdout, /readme-42/, shell.stdout);
    assert.equal(shell.status, 3, shell.stdout);
  });

  it('ended by SIGTERM while it reads standard input: nothing is left', async () => {
    const dir = freshDir();
    const child = spawn(TSRUN, ['bundle', '--from', '-', dir], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === null ? null : 128))));
    // Half the tarball may still be in the pipe when SIGTERM ends tsrun: that
    // write then fails with EPIPE, which is the point, not an error of the test (seen in CI).
    child.stdin.on('error', () => {});
    const tarball = readFileSync(paths.rootfsTar);
    child.stdin.write(tarball.subarray(0, Math.floor(tarball.length / 2)));
    const started = await waitFor(() => existsSync(dir) && readdirSync(dir).some((n) => n.startsWith('.tsrun-bundle-')), 30000);
    assert.ok(started, 'the staging directory never appeared');
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    child.stdin.destroy();
    assert.equal(existsSync(dir), false, `left: ${existsSync(dir) ? readdirSync(dir).join(' ') : ''}`);
  });
});
