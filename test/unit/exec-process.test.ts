// `tsrun exec` without the kernel: its command line, and the process it
// builds from the config and runc's flags or from a --process file.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandArgs } from '../../src/cli/parse';
import { execCommand } from '../../src/cli/commands/exec';
import { mergeEnv, parseUser, processFromFile, processFromFlags, withAddedCapabilities, type ExecOverrides } from '../../src/process/exec/process-args';
import { defaultSpec } from '../../src/spec/default-spec';
import type { Process } from '../../src/spec/types';

const none: ExecOverrides = { args: ['sh'], env: [], additionalGids: [], caps: [] };

function base(): Process {
  return structuredClone(defaultSpec().process!);
}

describe('exec: command line', () => {
  it('ends the options at the command, keeping its own flags, and collects repeated flags', () => {
    const args = parseCommandArgs(execCommand, ['-e', 'A=1', '--env=B=2', '-u', '1:2', '--cap', 'CAP_KILL', '-c', 'CAP_CHOWN', '-g', '5', '-t', 'ctr', 'sh', '-c', 'echo -e x', '--env', 'C=3']);
    assert.deepEqual(args._, ['ctr', 'sh', '-c', 'echo -e x', '--env', 'C=3']);
    assert.deepEqual(args.env, ['A=1', 'B=2']);
    assert.deepEqual(args.cap, ['CAP_KILL', 'CAP_CHOWN']);
    assert.deepEqual(args.additionalGids, ['5']);
    assert.equal(args.user, '1:2');
    assert.equal(args.tty, true);
  });

  it('takes containerd\'s and conmon\'s form: --process, --detach, --pid-file and no command', () => {
    const args = parseCommandArgs(execCommand, ['--process', '/p.json', '--detach', '--pid-file', '/x.pid', '--preserve-fds', '2', 'ctr']);
    assert.deepEqual(args._, ['ctr']);
    assert.equal(args.process, '/p.json');
    assert.equal(args.detach, true);
    assert.equal(args.preserveFds, 2);
  });

  it('keeps the last value of a flag given twice that is not a list', () => {
    assert.equal(parseCommandArgs(execCommand, ['--cwd', '/a', '--cwd', '/b', 'ctr', 'true']).cwd, '/b');
  });
});

describe('exec: the process from the config and flags', () => {
  it('keeps the config process but for args and terminal when no flag is given', () => {
    const p = processFromFlags(base(), { ...none, args: ['ls', '-l'] });
    assert.deepEqual(p.args, ['ls', '-l']);
    assert.equal(p.terminal, false);
    assert.equal(p.cwd, '/');
    assert.deepEqual(p.env, base().env);
    assert.deepEqual(p.capabilities, base().capabilities);
  });

  it('lays cwd, env, user, groups, no_new_privs and labels over it', () => {
    const p = processFromFlags(base(), {
      ...none,
      cwd: '/tmp',
      env: ['TERM=dumb', 'X=1'],
      user: '1000:1001',
      additionalGids: ['7', '8'],
      noNewPrivs: false,
      apparmor: 'prof',
      processLabel: 'lbl',
    });
    assert.equal(p.cwd, '/tmp');
    assert.ok(p.env!.includes('TERM=dumb') && !p.env!.includes('TERM=xterm') && p.env!.includes('X=1'));
    assert.deepEqual(p.user, { uid: 1000, gid: 1001, additionalGids: [7, 8] });
    assert.equal(p.noNewPrivileges, false);
    assert.equal(p.apparmorProfile, 'prof');
    assert.equal(p.selinuxLabel, 'lbl');
  });

  it('refuses what runc refuses: no command, bad ids, relative cwd, env without =', () => {
    assert.throws(() => processFromFlags(base(), { ...none, args: [] }), /no command/);
    assert.throws(() => processFromFlags(base(), { ...none, user: 'root' }), /parsing root as int for uid failed/);
    assert.throws(() => processFromFlags(base(), { ...none, user: '1:x' }), /parsing x as int for gid failed/);
    assert.throws(() => processFromFlags(base(), { ...none, additionalGids: ['-1'] }), /additional-gids must be a positive number/);
    assert.throws(() => processFromFlags(base(), { ...none, cwd: 'tmp' }), /--cwd tmp: must be an absolute path/);
    assert.throws(() => processFromFlags(base(), { ...none, env: ['NOEQUALS'] }), /--env NOEQUALS: must be KEY=VALUE/);
  });

  it('parses UID[:GID]', () => {
    assert.deepEqual(parseUser('5'), { uid: 5 });
    assert.deepEqual(parseUser('5:6'), { uid: 5, gid: 6 });
  });

  it('adds --cap to bounding, effective and permitted, and to ambient only with an inheritable set', () => {
    const caps = withAddedCapabilities({ bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] }, ['net_admin', 'CAP_KILL']);
    assert.deepEqual(caps.bounding, ['CAP_KILL', 'CAP_NET_ADMIN']);
    assert.deepEqual(caps.permitted, ['CAP_KILL', 'CAP_NET_ADMIN']);
    assert.equal(caps.ambient, undefined);
    assert.deepEqual(withAddedCapabilities({ inheritable: [] }, ['CAP_CHOWN']).ambient, ['CAP_CHOWN']);
    assert.throws(() => withAddedCapabilities(undefined, ['CAP_NOPE']), /--cap CAP_NOPE: unknown capability/);
  });

  it('merges env keeping the last value of a key where it first appeared', () => {
    assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['A=3', 'C=4', 'C=5']), ['A=3', 'B=2', 'C=5']);
  });
});

describe('exec: --process FILE', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-exec-unit-'));
    mkdirSync(join(dir, 'rootfs'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function load(content: unknown): Process {
    const file = join(dir, 'process.json');
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return processFromFile(file, defaultSpec(), dir);
  }

  it('reads a runtime-spec process', () => {
    const p = load({ args: ['true'], cwd: '/', user: { uid: 1, gid: 2 }, terminal: false });
    assert.deepEqual(p.args, ['true']);
    assert.deepEqual(p.user, { uid: 1, gid: 2 });
  });

  it('names the file and the field of what is wrong', () => {
    assert.throws(() => load({ args: ['true'], cwd: 'rel', user: { uid: 0, gid: 0 } }), /process\.json: \/cwd: must be an absolute path/);
    assert.throws(() => load({ args: [], cwd: '/', user: { uid: 0, gid: 0 } }), /process\.json: \/args/);
    assert.throws(() => load({ args: ['true'], cwd: '/', user: { uid: 'x', gid: 0 } }), /process\.json: \/user\/uid/);
    assert.throws(() => load('{"args": ['), /process\.json.*invalid JSON/);
    assert.throws(() => load('[1]'), /must be a JSON object/);
  });
});
