// Decompressing streams: gzip in-process with node:zlib, zstd through
// Debian's `zstd -dc` (Node 20 has no zstd). Both are Duplex streams that
// fail with a one-line message when their input is corrupt or cut short.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { UserError } from '../../errors';
import type { Compression } from './media-types';

/** The zstd program, found on PATH (or in /usr/bin when PATH is empty, as under podman); null when absent. */
export function findZstd(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'zstd');
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here: try the next directory
    }
  }
  return null;
}

/** Throws the "install zstd" error for `what` when the program is missing. */
export function requireZstd(what: string): string {
  const zstd = findZstd();
  if (zstd === null) throw new UserError(`${what} is zstd-compressed: install Debian's zstd (apt-get install zstd) to read it`);
  return zstd;
}

/**
 * A decoder for `compression`; `what` names the data in its errors
 * ("layer sha256:…", "stdin"). "none" is a pass-through.
 */
export function decoderFor(compression: Compression, what: string): Duplex {
  if (compression === 'none') return new PassThrough();
  if (compression === 'zstd') return new ZstdDecoder(requireZstd(what), what);
  return new GunzipDecoder(what);
}

/**
 * node:zlib's gunzip with its errors renamed: zlib's own words ("unexpected
 * end of file", "incorrect header check") do not say which data failed.
 */
class GunzipDecoder extends Duplex {
  private readonly gunzip: Gunzip = createGunzip();

  constructor(what: string) {
    super();
    this.gunzip.on('data', (c: Buffer) => {
      if (!this.push(c)) this.gunzip.pause();
    });
    this.gunzip.on('end', () => this.push(null));
    this.gunzip.on('error', (err) => this.destroy(new UserError(`${what}: gzip data truncated or corrupt (${err.message})`, { cause: err })));
  }

  override _read(): void {
    this.gunzip.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.gunzip.write(chunk)) callback();
    else this.gunzip.once('drain', () => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.gunzip.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.gunzip.destroy();
    callback(err);
  }
}

/** Bytes of zstd's stderr kept for the error message. */
const STDERR_LIMIT = 4096;

/** `zstd -dc` as a Duplex: bytes written go to its stdin, its stdout is read. */
class ZstdDecoder extends Duplex {
  private readonly child: ChildProcess;
  private stderr = '';
  private exitCode: number | null | undefined;
  private stdoutEnded = false;

  constructor(program: string, private readonly what: string) {
    super();
    this.child = spawn(program, ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const { stdin, stdout, stderr } = this.child as ChildProcess & { stdin: NodeJS.WritableStream; stdout: NodeJS.ReadableStream; stderr: NodeJS.ReadableStream };
    // A write after zstd gave up on bad input fails with EPIPE; the exit
    // status and its stderr are the error worth reporting.
    stdin.on('error', () => undefined);
    stderr.on('data', (c: Buffer) => {
      if (this.stderr.length < STDERR_LIMIT) this.stderr += c.toString();
    });
    stdout.on('data', (c: Buffer) => {
      if (!this.push(c)) stdout.pause();
    });
    stdout.on('end', () => {
      this.stdoutEnded = true;
      this.settle();
    });
    this.child.on('error', (err) => this.destroy(new UserError(`${what}: cannot run zstd: ${err.message}`)));
    this.child.on('exit', (code) => {
      this.exitCode = code;
      this.settle();
    });
  }

  /** Ends or fails the stream once both the exit status and the end of stdout are in. */
  private settle(): void {
    if (!this.stdoutEnded || this.exitCode === undefined) return;
    if (this.exitCode === 0) this.push(null);
    else {
      const detail = this.stderr.trim().split('\n').pop() ?? '';
      this.destroy(new UserError(`${this.what}: zstd data truncated or corrupt (zstd: ${detail || `exit status ${this.exitCode}`})`));
    }
  }

  override _read(): void {
    this.child.stdout?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    const stdin = this.child.stdin;
    if (stdin === null || stdin.destroyed) return callback();
    if (stdin.write(chunk)) callback();
    else {
      // When zstd dies, no drain comes: its exit fails the stream instead.
      stdin.once('drain', () => callback());
    }
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.child.stdin?.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.exitCode === undefined) this.child.kill();
    callback(err);
  }
}
