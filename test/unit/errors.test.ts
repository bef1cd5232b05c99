// The one way config errors are built, and the carriers that keep what a
// message says (the pointer, the errno, the path) as data.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, SyscallError, UserError, configError, onPath, syscallErrorOn } from '../../src/errors';
import { CgroupWriteError, writeCgroupFile } from '../../src/cgroups/files';
import { v1Writes } from '../../src/cgroups/v1/resources';

describe('configError', () => {
  it('reads "config.json: <pointer>: <detail>" and keeps the pointer as data', () => {
    const err = configError('/linux/resources/memory/swap', 'is less than memory.limit');
    assert.ok(err instanceof ConfigError);
    assert.ok(err instanceof UserError);
    assert.equal(err.name, 'ConfigError');
    assert.equal(err.message, 'config.json: /linux/resources/memory/swap: is less than memory.limit');
    assert.equal(err.file, 'config.json');
    assert.equal(err.pointer, '/linux/resources/memory/swap');
    assert.equal(err.detail, 'is less than memory.limit');
  });

  it('names the whole document "/" for an empty pointer, and keeps a cause', () => {
    const cause = new SyscallError('mount', 'ENODEV', 19, '"bogusfs" on /mnt');
    const err = configError('', 'x', cause);
    assert.equal(err.message, 'config.json: /: x');
    assert.equal(err.cause, cause);
    assert.equal(configError('/a', 'b').cause, undefined);
  });

  it("is what a converted call site throws (v1's refusal of unified)", () => {
    assert.throws(
      () => v1Writes({ unified: { 'memory.high': '1' } }, { controllers: new Set(), hasFile: () => false }),
      (e: unknown) => e instanceof ConfigError && e.pointer === '/linux/resources/unified' && e.message === 'config.json: /linux/resources/unified: needs cgroup v2, and this host uses cgroup v1',
    );
  });
});

describe('CgroupWriteError', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-errors-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the ConfigError of the field behind the write, with its text and the errno name', () => {
    const file = join(dir, 'none', 'pids.max');
    assert.throws(
      () => writeCgroupFile(file, '10', '/linux/resources/pids/limit'),
      (e: unknown) =>
        e instanceof CgroupWriteError &&
        e instanceof UserError &&
        e.code === 'ENOENT' &&
        e.config?.pointer === '/linux/resources/pids/limit' &&
        e.message === `config.json: /linux/resources/pids/limit: write "10" to ${file}: ENOENT` &&
        e.message === e.config.message,
    );
  });

  it('without a field says only what was written where', () => {
    const file = join(dir, 'none', 'cgroup.procs');
    assert.throws(
      () => writeCgroupFile(file, '1'),
      (e: unknown) => e instanceof CgroupWriteError && e.code === 'ENOENT' && e.config === undefined && e.message === `write "1" to ${file}: ENOENT`,
    );
  });
});

describe('errors on a path the user wrote', () => {
  it("turns Node's fs error into a SyscallError naming the given path, not the host's", () => {
    const host = join(tmpdir(), 'tsrun-no-such-dir', 'rootfs', 'mnt');
    assert.throws(
      () => onPath('/mnt', () => rmSync(join(host, 'x'))),
      (e: unknown) => e instanceof SyscallError && e.subject === '/mnt' && e.errnoName === 'ENOENT' && e.errno === 2 && !e.message.includes(host),
    );
  });

  it("renames a SyscallError's subject, and passes anything else through", () => {
    const named = syscallErrorOn(new SyscallError('open', 'ENOENT', 2, '/run/x/rootfs/mnt'), '/mnt');
    assert.ok(named instanceof SyscallError);
    assert.equal(named.message, 'open(/mnt): ENOENT');
    const other = new Error('no errno here');
    assert.equal(syscallErrorOn(other, '/mnt'), other);
  });
});
