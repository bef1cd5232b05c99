// Image sources for `tsrun bundle --from`: OCI layouts (directory and
// archive), docker-archives, plain rootfs tarballs and stdin, told apart by
// content; the image chosen by --ref and platform; layers decompressed and
// verified as they stream; and the one-line errors for bad input.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { UserError } from '../../src/errors';
import { openImageSource, openLayerTar } from '../../src/image/source';
import { hostPlatform } from '../../src/image/source/platform';
import { END, readMember, walkMembers, type TarMember } from '../../src/image/source/tar-headers';
import type { ImageSource } from '../../src/image/types';
import {
  addIndex,
  addOciImage,
  compress,
  dockerArchive,
  entriesOf,
  finishLayout,
  layerOf,
  named,
  oldDockerArchive,
  sha256,
  tarOf,
  writeEntries,
  type Files,
} from '../helpers/image-archives';

/** Everything a stream gives, or its error, and whether 'end' came before the error. */
async function drain(stream: Readable): Promise<{ data: Buffer; error?: Error; ended: boolean }> {
  const chunks: Buffer[] = [];
  let ended = false;
  return new Promise((resolve) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      ended = true;
      resolve({ data: Buffer.concat(chunks), ended });
    });
    stream.on('error', (error) => resolve({ data: Buffer.concat(chunks), error, ended }));
  });
}

async function layerTars(source: ImageSource): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const layer of source.layers) {
    const r = await drain(openLayerTar(layer));
    if (r.error) throw r.error;
    out.push(r.data);
  }
  return out;
}

/** A stream that hands `data` out in small pieces, as a pipe might. */
function stdinOf(data: Buffer, piece = 1000): PassThrough {
  const s = new PassThrough();
  (async () => {
    for (let i = 0; i < data.length; i += piece) {
      if (!s.write(data.subarray(i, i + piece))) await new Promise((r) => s.once('drain', r));
    }
    s.end();
  })();
  return s;
}

async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.ok(err instanceof UserError, `not a UserError: ${err.stack}`);
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'), `more than one line: ${err.message}`);
    return true;
  });
}

describe('image sources', function () {
  let work: string;
  let tmpDir: string;
  let base: Buffer;
  let app: Buffer;
  let other: Buffer;

  before(async () => {
    base = await layerOf({ 'etc/': '', 'etc/hostname': 'base\n', 'bin/': '' });
    app = await layerOf({ 'app/': '', 'app/run': '#!/bin/sh\necho app\n' });
    other = await layerOf({ 'other/': '', 'other/file': 'other\n' });
  });
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'tsrun-imgsrc-'));
    tmpDir = mkdtempSync(join(work, 'tmp-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  /** A layout with images "one" (base+app) and "two" (other). */
  function twoRefs(): Files {
    const files: Files = new Map();
    const one = addOciImage(files, { layers: [base, app], config: { Cmd: ['one'] } });
    const two = addOciImage(files, { layers: [other], config: { Cmd: ['two'] } });
    return finishLayout(files, [named(one, 'example.com/one:1'), named(two, 'two')]);
  }

  describe('OCI image layout', () => {
    it('reads a layout directory, choosing the image by --ref', async () => {
      const dir = join(work, 'layout');
      writeEntries(dir, entriesOf(twoRefs()));
      const src = await openImageSource(dir, { ref: 'example.com/one:1', tmpDir });
      assert.match(src.description, /^oci layout .*layout \(ref example.com\/one:1\)$/);
      assert.deepEqual(src.config?.config?.Cmd, ['one']);
      assert.deepEqual(await layerTars(src), [base, app]);
      assert.equal(src.layers[0].diffId, sha256(base));
      assert.equal(src.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
      const two = await openImageSource(dir, { ref: 'two', tmpDir });
      assert.deepEqual(await layerTars(two), [other]);
      src.close();
      two.close();
    });

    it('lists the refs when several images and no --ref, or an unknown --ref', async () => {
      const dir = join(work, 'layout');
      writeEntries(dir, entriesOf(twoRefs()));
      await rejectsWith(openImageSource(dir, { tmpDir }), /holds several images \(example.com\/one:1, two\): choose one with --ref/);
      await rejectsWith(openImageSource(dir, { ref: 'three', tmpDir }), /no image named "three" \(refs there: example.com\/one:1, two\)/);
    });

    it('reads an uncompressed oci-archive in place, copying nothing', async () => {
      const file = join(work, 'img.tar');
      writeFileSync(file, await tarOf(entriesOf(twoRefs())));
      const src = await openImageSource(file, { ref: 'two', tmpDir });
      assert.match(src.description, /^oci-archive .*img\.tar \(ref two\)$/);
      assert.deepEqual(await layerTars(src), [other]);
      assert.deepEqual(readdirSync(tmpDir), []);
      // The stored bytes are the gzip blob itself, a byte range of the archive.
      const stored = await drain(src.layers[0].open());
      assert.deepEqual(stored.data.subarray(0, 2), Buffer.from([0x1f, 0x8b]));
      assert.equal(stored.data.length, src.layers[0].size);
    });

    it('spools a gzip-compressed oci-archive and removes the copy on close', async () => {
      const file = join(work, 'img.tar.gz');
      writeFileSync(file, gzipSync(await tarOf(entriesOf(twoRefs()))));
      const src = await openImageSource(file, { ref: 'example.com/one:1', tmpDir });
      assert.equal(readdirSync(tmpDir).length, 1);
      assert.deepEqual(await layerTars(src), [base, app]);
      src.close();
      src.close();
      assert.deepEqual(readdirSync(tmpDir), []);
    });

    it("follows a nested index to the host's platform", async () => {
      const host = hostPlatform();
      const foreign = host.architecture === 's390x' ? 'ppc64le' : 's390x';
      const files: Files = new Map();
      const mine = addOciImage(files, { layers: [app], architecture: host.architecture });
      const theirs = addOciImage(files, { layers: [other], architecture: foreign });
      const index = addIndex(files, [
        { ...theirs, platform: { os: 'linux', architecture: foreign } },
        { ...mine, platform: { os: 'linux', architecture: host.architecture, ...(host.variant ? { variant: host.variant } : {}) } },
      ]);
      const dir = join(work, 'layout');
      writeEntries(dir, entriesOf(finishLayout(files, [named(index, 'multi:latest')])));
      const src = await openImageSource(dir, { tmpDir });
      assert.deepEqual(await layerTars(src), [app]);
      assert.equal(src.config?.architecture, host.architecture);
    });

    it('lists the platforms there are when none is this one', async () => {
      const files: Files = new Map();
      const a = addOciImage(files, { layers: [app], architecture: 'mips64' });
      const b = addOciImage(files, { layers: [other], architecture: 'riscv32' });
      const index = addIndex(files, [
        { ...a, platform: { os: 'linux', architecture: 'mips64' } },
        { ...b, platform: { os: 'linux', architecture: 'riscv32' } },
      ]);
      const dir = join(work, 'layout');
      writeEntries(dir, entriesOf(finishLayout(files, [index])));
      await rejectsWith(openImageSource(dir, { tmpDir }), /no manifest for linux\/\S+ \(platforms there: linux\/mips64, linux\/riscv32\)/);
    });

    it('decodes zstd layers through zstd -dc', async () => {
      const files: Files = new Map();
      const img = addOciImage(files, { layers: [base, app], compression: 'zstd' });
      const dir = join(work, 'layout');
      writeEntries(dir, entriesOf(finishLayout(files, [img])));
      const src = await openImageSource(dir, { tmpDir });
      assert.equal(src.layers[1].mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
      assert.deepEqual(await layerTars(src), [base, app]);
    });
  });

  describe('docker-archive', () => {
    const tags = ['localhost/busybox:latest'];

    it("reads podman's order (layers first, manifest.json last) in place, under every spelling of the name", async () => {
      const file = join(work, 'busybox.tar');
      writeFileSync(file, await tarOf(dockerArchive([{ repoTags: tags, img: { layers: [base, app], config: { Cmd: ['sh'] } } }])));
      for (const ref of [undefined, 'busybox', 'busybox:latest', 'localhost/busybox:latest', 'docker.io/library/busybox:latest']) {
        const src = await openImageSource(file, { ref, tmpDir });
        assert.match(src.description, /^docker-archive .*busybox\.tar/);
        assert.equal(src.layers[1].diffId, sha256(app));
        assert.equal(src.layers[1].digest, null);
        assert.deepEqual(await layerTars(src), [base, app]);
      }
      assert.deepEqual(readdirSync(tmpDir), []);
    });

    it('chooses among several images by --ref, and lists them without one', async () => {
      const file = join(work, 'two.tar');
      writeFileSync(
        file,
        await tarOf(
          dockerArchive([
            { repoTags: ['localhost/a:1'], img: { layers: [base] } },
            { repoTags: ['docker.io/library/b:2'], img: { layers: [base, other] } },
          ]),
        ),
      );
      const b = await openImageSource(file, { ref: 'b:2', tmpDir });
      assert.deepEqual(await layerTars(b), [base, other]);
      await rejectsWith(openImageSource(file, { tmpDir }), /holds several images \(localhost\/a:1, docker.io\/library\/b:2\): choose one with --ref/);
      await rejectsWith(openImageSource(file, { ref: 'c', tmpDir }), /no image named "c" \(refs there: localhost\/a:1, docker.io\/library\/b:2\)/);
    });

    it('spools a gzip-compressed docker-archive', async () => {
      const file = join(work, 'busybox.tar.gz');
      writeFileSync(file, gzipSync(await tarOf(dockerArchive([{ repoTags: tags, img: { layers: [base, app] } }]))));
      const src = await openImageSource(file, { tmpDir });
      assert.equal(readdirSync(tmpDir).length, 1);
      assert.deepEqual(await layerTars(src), [base, app]);
      src.close();
      assert.deepEqual(readdirSync(tmpDir), []);
    });

    it("reads old docker save's <id>/layer.tar with a repeated layer as a symlink, in place and spooled", async () => {
      const entries = oldDockerArchive('busybox:latest', { layers: [base, app, base] });
      const file = join(work, 'old.tar');
      writeFileSync(file, await tarOf(entries));
      assert.deepEqual(await layerTars(await openImageSource(file, { tmpDir })), [base, app, base]);
      const gz = join(work, 'old.tar.gz');
      writeFileSync(gz, gzipSync(await tarOf(entries)));
      assert.deepEqual(await layerTars(await openImageSource(gz, { tmpDir })), [base, app, base]);
    });

    it('reads an unpacked docker-archive directory', async () => {
      const dir = join(work, 'unpacked');
      writeEntries(dir, dockerArchive([{ repoTags: tags, img: { layers: [app] } }]));
      const src = await openImageSource(dir, { tmpDir });
      assert.deepEqual(await layerTars(src), [app]);
    });
  });

  describe('plain rootfs tarball', () => {
    it('reads a .tar as one layer with no config', async () => {
      const file = join(work, 'rootfs.tar');
      writeFileSync(file, base);
      const src = await openImageSource(file, { tmpDir });
      assert.equal(src.config, null);
      assert.equal(src.description, `rootfs tarball ${file}`);
      assert.deepEqual(src.layers.map((l) => [l.digest, l.diffId, l.size, l.mediaType]), [[null, null, base.length, 'application/vnd.oci.image.layer.v1.tar']]);
      assert.deepEqual(await layerTars(src), [base]);
    });

    it('reads a .tar.gz (told by its bytes, whatever its name)', async () => {
      const file = join(work, 'rootfs.bin');
      writeFileSync(file, gzipSync(base));
      const src = await openImageSource(file, { tmpDir });
      assert.equal(src.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
      assert.deepEqual(await layerTars(src), [base]);
    });

    it('reads a zstd-compressed rootfs', async () => {
      const file = join(work, 'rootfs.tar.zst');
      writeFileSync(file, compress(base, 'zstd'));
      assert.deepEqual(await layerTars(await openImageSource(file, { tmpDir })), [base]);
    });

    it("reads a tar made with `tar -C rootfs .` (first member './')", async () => {
      const file = join(work, 'dot.tar');
      const tar = await tarOf([{ name: './', type: 'directory' }, { name: './etc/', type: 'directory' }, { name: './etc/x', data: 'x' }]);
      writeFileSync(file, tar);
      const src = await openImageSource(file, { tmpDir });
      assert.equal(src.config, null);
    });
  });

  describe('stdin', () => {
    it('spools an archive read from stdin', async () => {
      const stdin = stdinOf(gzipSync(await tarOf(entriesOf(twoRefs()))));
      const src = await openImageSource('-', { ref: 'two', tmpDir, stdin });
      assert.match(src.description, /^oci-archive stdin \(ref two\)$/);
      assert.deepEqual(await layerTars(src), [other]);
      src.close();
      assert.deepEqual(readdirSync(tmpDir), []);
    });

    it('spools an uncompressed docker-archive read from stdin', async () => {
      const stdin = stdinOf(await tarOf(dockerArchive([{ repoTags: ['x:1'], img: { layers: [base, app] } }])), 300);
      const src = await openImageSource('-', { tmpDir, stdin });
      assert.deepEqual(await layerTars(src), [base, app]);
    });

    it('spools a zstd-compressed archive read from stdin, counting stored bytes per layer', async () => {
      const stdin = stdinOf(compress(await tarOf(entriesOf(twoRefs())), 'zstd'), 4096);
      const src = await openImageSource('-', { ref: 'example.com/one:1', tmpDir, stdin });
      let stored = 0;
      const r = await drain(openLayerTar(src.layers[1], (n) => (stored += n)));
      assert.ok(r.data.equals(app));
      assert.equal(stored, src.layers[1].size);
    });

    it('hands a rootfs tarball on stdin on whole, without a copy, once', async () => {
      const big = await tarOf([{ name: 'big', data: Buffer.alloc(3 * 1024 * 1024, 7) }]);
      const stdin = stdinOf(gzipSync(big), 64 * 1024);
      const src = await openImageSource('-', { tmpDir, stdin });
      assert.equal(src.config, null);
      assert.equal(src.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
      assert.deepEqual(readdirSync(tmpDir), []);
      let stored = 0;
      const r = await drain(openLayerTar(src.layers[0], (n) => (stored += n)));
      assert.equal(r.error, undefined);
      assert.ok(r.data.equals(big));
      assert.equal(stored, gzipSync(big).length);
      assert.throws(() => src.layers[0].open(), /can be read only once/);
    });

    it('reads a rootfs tarball shorter than one read', async () => {
      const src = await openImageSource('-', { tmpDir, stdin: stdinOf(base, 1 << 20) });
      assert.deepEqual(await layerTars(src), [base]);
    });
  });

  describe('errors', () => {
    it('fails the layer stream before its end when the stored digest does not match', async () => {
      const files = twoRefs();
      const dir = join(work, 'layout');
      writeEntries(dir, entriesOf(files));
      const src = await openImageSource(dir, { ref: 'two', tmpDir });
      const layer = src.layers[0];
      // Same size, other bytes: a gzip of the same tar at another level.
      const blob = join(dir, 'blobs/sha256', layer.digest!.slice(7));
      const tampered = gzipSync(other, { level: 1 });
      const r1 = await drain(openLayerTar({ ...layer, size: tampered.length, open: () => stdinOf(tampered) }));
      assert.equal(r1.ended, false);
      assert.match(r1.error!.message, /^layer sha256:[0-9a-f]{12}…: digest mismatch \(expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}\)$/);
      writeFileSync(blob, Buffer.alloc(layer.size!, 0));
      const r2 = await drain(openLayerTar(layer));
      assert.equal(r2.ended, false);
      assert.match(r2.error!.message, /^layer sha256:[0-9a-f]{12}…: gzip data truncated or corrupt/);
    });

    it('fails before the end when the uncompressed tar is not the diff_id', async () => {
      const file = join(work, 'd.tar');
      writeFileSync(file, await tarOf(dockerArchive([{ repoTags: ['x:1'], img: { layers: [base] } }])));
      const src = await openImageSource(file, { tmpDir });
      const r = await drain(openLayerTar({ ...src.layers[0], size: other.length, open: () => stdinOf(other) }));
      assert.equal(r.ended, false);
      assert.match(r.error!.message, /uncompressed digest mismatch \(expected diff_id sha256:[0-9a-f]{64}, got sha256:/);
    });

    it('names a missing blob and its place among the layers', async () => {
      const files = twoRefs();
      const dir = join(work, 'layout');
      writeEntries(dir, entriesOf(files));
      const src = await openImageSource(dir, { ref: 'example.com/one:1', tmpDir });
      rmSync(join(dir, 'blobs/sha256', src.layers[1].digest!.slice(7)));
      await rejectsWith(openImageSource(dir, { ref: 'example.com/one:1', tmpDir }), /^blob sha256:[0-9a-f]{64} \(layer 2 of 2\) is not in oci layout /);
    });

    it('names an unknown layer media type and the layer', async () => {
      const files: Files = new Map();
      const img = addOciImage(files, { layers: [base], layerMediaType: 'application/vnd.example.layer.v1.squashfs' });
      const dir = join(work, 'layout');
      writeEntries(dir, entriesOf(finishLayout(files, [img])));
      await rejectsWith(
        openImageSource(dir, { tmpDir }),
        /layer 1 of 1 \(sha256:[0-9a-f]{12}…\) has media type "application\/vnd.example.layer.v1.squashfs", which tsrun cannot unpack/,
      );
    });

    it('refuses a manifest or config blob whose bytes are not its digest', async () => {
      const files: Files = new Map();
      const img = addOciImage(files, { layers: [base] });
      const name = `blobs/sha256/${img.digest.slice(7)}`;
      const bad = Buffer.from(files.get(name)!.toString().replace('schemaVersion', 'schemaVersioN'));
      files.set(name, bad);
      const dir = join(work, 'layout');
      writeEntries(dir, entriesOf(finishLayout(files, [img])));
      await rejectsWith(openImageSource(dir, { tmpDir }), /manifest sha256:[0-9a-f]{12}… sha256:[0-9a-f]{64}: digest mismatch/);
    });

    it('reports a truncated gzip stream', async () => {
      const gz = gzipSync(await tarOf([{ name: 'big', data: Buffer.alloc(256 * 1024, 1) }, { name: 'b', data: 'x' }]));
      const file = join(work, 'cut.tar.gz');
      writeFileSync(file, gz.subarray(0, gz.length - 20));
      const src = await openImageSource(file, { tmpDir });
      const r = await drain(openLayerTar(src.layers[0]));
      assert.equal(r.ended, false);
      assert.match(r.error!.message, /gzip data truncated or corrupt \(unexpected end of file\)/);
      const archive = gzipSync(await tarOf(entriesOf(twoRefs())));
      writeFileSync(file, archive.subarray(0, archive.length / 2));
      await rejectsWith(openImageSource(file, { ref: 'two', tmpDir }), /cut\.tar\.gz: gzip data truncated or corrupt/);
      assert.deepEqual(readdirSync(tmpDir), []);
    });

    it('reports an uncompressed archive that stops inside a member', async () => {
      const tar = await tarOf(entriesOf(twoRefs()));
      const file = join(work, 'cut.tar');
      writeFileSync(file, tar.subarray(0, 2048 + 100));
      await rejectsWith(openImageSource(file, { tmpDir }), /cut\.tar: truncated archive/);
      await rejectsWith(openImageSource('-', { tmpDir, stdin: stdinOf(tar.subarray(0, tar.length - 3000)) }), /stdin: truncated archive/);
    });

    it('says what is not an archive, and which compression is not read', async () => {
      const file = join(work, 'notes.txt');
      writeFileSync(file, 'hello, this is not a tar file\n'.repeat(40));
      await rejectsWith(openImageSource(file, { tmpDir }), /notes\.txt: not an image archive or a tar file/);
      writeFileSync(file, Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]));
      await rejectsWith(openImageSource(file, { tmpDir }), /is xz-compressed: tsrun reads gzip and zstd/);
      writeFileSync(file, gzipSync(Buffer.from('not a tar either\n'.repeat(100))));
      await rejectsWith(openImageSource(file, { tmpDir }), /not an image archive or a tar file/);
      writeFileSync(file, 'a short text file\n');
      await rejectsWith(openImageSource(file, { tmpDir }), /notes\.txt: not an image archive or a tar file \(18 bytes, less than one tar header\)/);
      writeFileSync(file, '');
      await rejectsWith(openImageSource(file, { tmpDir }), /is empty/);
      await rejectsWith(openImageSource('-', { tmpDir, stdin: stdinOf(Buffer.alloc(0)) }), /stdin is empty/);
      await rejectsWith(openImageSource(join(work, 'missing'), { tmpDir }), /cannot read .*missing: ENOENT/);
      await rejectsWith(openImageSource(tmpDir, { tmpDir }), /neither an OCI image layout .* nor an unpacked docker-archive/);
    });

    it('refuses archive members that climb out', async () => {
      const tar = await tarOf([...entriesOf(twoRefs()), { name: '../../evil', data: 'x' }]);
      await rejectsWith(openImageSource('-', { ref: 'two', tmpDir, stdin: stdinOf(gzipSync(tar)) }), /member name "..\/..\/evil" contains ".."/);
      const file = join(work, 'evil.tar');
      writeFileSync(file, tar);
      await rejectsWith(openImageSource(file, { ref: 'two', tmpDir }), /member name "..\/..\/evil" contains ".."/);
      assert.deepEqual(readdirSync(tmpDir), []);
    });

    it('does not follow a layer name in manifest.json out of the archive', async () => {
      const dir = join(work, 'unpacked');
      const entries = dockerArchive([{ repoTags: ['x:1'], img: { layers: [base] } }]);
      const manifest = JSON.parse(entries.at(-1)!.data as string) as { Layers: string[] }[];
      manifest[0].Layers = ['../../../etc/passwd'];
      entries[entries.length - 1] = { name: 'manifest.json', data: JSON.stringify(manifest) };
      writeEntries(dir, entries);
      await rejectsWith(openImageSource(dir, { tmpDir }), /manifest.json names layer 1 of 1 "..\/..\/..\/etc\/passwd", not a file in the archive/);
    });
  });

  describe('tar headers read in place', () => {
    /** One 512-byte header block with a valid checksum. */
    function header(fields: { name: string; size?: number; type?: string; prefix?: string; gnu?: boolean; base256?: boolean }): Buffer {
      const b = Buffer.alloc(512);
      b.write(fields.name, 0, 100);
      b.write('0000644\0', 100);
      if (fields.base256) {
        b[124] = 0x80;
        b.writeUIntBE(fields.size ?? 0, 124 + 6, 6);
      } else b.write(`${(fields.size ?? 0).toString(8).padStart(11, '0')}\0`, 124);
      b.write(fields.type ?? '0', 156);
      if (fields.gnu) b.write('ustar  \0', 257);
      else b.write('ustar\u000000', 257);
      if (fields.prefix) b.write(fields.prefix, 345, 155);
      b.write('        ', 148);
      let sum = 0;
      for (const byte of b) sum += byte;
      b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
      return b;
    }
    const pad = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
    const pax = (records: Record<string, string>): Buffer => {
      let text = '';
      for (const [k, v] of Object.entries(records)) {
        const body = ` ${k}=${v}\n`;
        let len = body.length + 1;
        while (`${len}${body}`.length !== len) len++;
        text += `${len}${body}`;
      }
      return Buffer.from(text);
    };
    const members = (tar: Buffer): TarMember[] => [...walkMembers((o, n) => tar.subarray(o, o + n))];

    it('reads ustar prefixes, GNU long names and PAX paths and sizes', () => {
      const long = `blobs/sha256/${'a'.repeat(64)}`;
      const longer = `${'d/'.repeat(80)}file`;
      const gnuName = Buffer.from(`${longer}\0`);
      const paxData = pax({ path: 'pax/named', size: '3' });
      const tar = Buffer.concat([
        header({ name: 'a'.repeat(64), prefix: 'blobs/sha256', size: 5 }),
        pad(Buffer.from('hello')),
        header({ name: '././@LongLink', type: 'L', size: gnuName.length, gnu: true }),
        pad(gnuName),
        header({ name: 'short', size: 2, gnu: true }),
        pad(Buffer.from('hi')),
        header({ name: 'PaxHeader/x', type: 'x', size: paxData.length }),
        pad(paxData),
        header({ name: 'ignored', size: 0 }),
        pad(Buffer.from('abc')),
        header({ name: 'big', size: 4, base256: true }),
        pad(Buffer.from('data')),
        Buffer.alloc(1024),
      ]);
      const got = members(tar).map((m) => [m.name, m.size, tar.subarray(m.dataOffset, m.dataOffset + m.size).toString()]);
      assert.deepEqual(got, [
        [long, 5, 'hello'],
        [longer, 2, 'hi'],
        ['pax/named', 3, 'abc'],
        ['big', 4, 'data'],
      ]);
    });

    it('tells the end, a bad header and a member cut short apart', () => {
      assert.equal(readMember(() => Buffer.alloc(0), 0), END);
      assert.equal(readMember((o, n) => Buffer.alloc(1024).subarray(o, o + n), 0), END);
      const bad = header({ name: 'x', size: 1 });
      bad[0] = 'y'.charCodeAt(0);
      assert.throws(() => members(bad), /no valid tar header at offset 0/);
      const cut = Buffer.concat([header({ name: 'x', size: 1000 }), Buffer.alloc(600)]);
      assert.throws(() => members(cut), /archive ends inside x/);
    });
  });
});
