// linux.seccomp checked and compiled to classic BPF with the machine's
// libseccomp: the program's return values, flags, the load point, and the
// errors (with their JSON pointers) for what cannot be compiled.
import assert from 'node:assert/strict';
import { planSeccomp, type SeccompPlan } from '../../src/process/plan/seccomp';
import { makePlan } from '../../src/process/plan/container-plan';
import { FILTER_FLAG } from '../../src/linux/seccomp';
import { defaultSpec } from '../../src/spec/default-spec';
import type { LinuxSeccomp, Spec } from '../../src/spec/types';

const BPF_RET_K = 0x06;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_X86_64 = 0xc000003e;

function specWith(seccomp: LinuxSeccomp, noNewPrivileges = true): Spec {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.noNewPrivileges = noNewPrivileges;
  spec.linux!.seccomp = seccomp;
  return spec;
}

function plan(seccomp: LinuxSeccomp, warnings: string[] = [], noNewPrivileges = true): SeccompPlan {
  const p = planSeccomp(specWith(seccomp, noNewPrivileges), (m) => warnings.push(m));
  assert.ok(p);
  return p;
}

/** The k of every `ret #k` instruction: what the filter can answer. */
function returnValues(program: Buffer): number[] {
  const values: number[] = [];
  for (let at = 0; at < program.length; at += 8) {
    if (program.readUInt16LE(at) === BPF_RET_K) values.push(program.readUInt32LE(at + 4));
  }
  return values;
}

/** Every k operand: syscall numbers, architectures and argument values show up here. */
function constants(program: Buffer): number[] {
  const ks: number[] = [];
  for (let at = 0; at < program.length; at += 8) ks.push(program.readUInt32LE(at + 4));
  return ks;
}

const deny = (names: string[], extra: object = {}): LinuxSeccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names, action: 'SCMP_ACT_ERRNO', ...extra }],
});

describe('seccomp plan', () => {
  it('compiles a profile to a non-empty program of 8-byte instructions', () => {
    const p = plan(deny(['mkdir', 'mkdirat'], { errnoRet: 38 }));
    assert.ok(p.program.length > 0);
    assert.equal(p.program.length % 8, 0);
    assert.ok(returnValues(p.program).includes(SECCOMP_RET_ERRNO | 38));
    assert.ok(returnValues(p.program).includes(0x7fff0000), 'allows by default');
    assert.equal(p.flags, 0);
    assert.equal(p.notify, undefined);
  });

  it('answers EPERM for SCMP_ACT_ERRNO without errnoRet, and defaultErrnoRet for the default', () => {
    assert.ok(returnValues(plan(deny(['mkdir'])).program).includes(SECCOMP_RET_ERRNO | 1));
    const p = plan({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 95, syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] });
    assert.ok(returnValues(p.program).includes(SECCOMP_RET_ERRNO | 95));
    assert.ok(returnValues(plan({ defaultAction: 'SCMP_ACT_ERRNO' }).program).includes(SECCOMP_RET_ERRNO | 1));
  });

  it('maps every action to its kernel return value', () => {
    const cases: Array<[LinuxSeccomp['defaultAction'], number]> = [
      ['SCMP_ACT_KILL', 0],
      ['SCMP_ACT_KILL_THREAD', 0],
      ['SCMP_ACT_KILL_PROCESS', SECCOMP_RET_KILL_PROCESS],
      ['SCMP_ACT_TRAP', 0x00030000],
      ['SCMP_ACT_TRACE', 0x7ff00000 | 1],
      ['SCMP_ACT_LOG', 0x7ffc0000],
    ];
    for (const [action, ret] of cases) {
      const p = plan({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action }] });
      assert.ok(returnValues(p.program).includes(ret), `${action} should return 0x${ret.toString(16)}`);
    }
    const traced = plan({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_TRACE', errnoRet: 7 }] });
    assert.ok(returnValues(traced.program).includes(0x7ff00000 | 7));
  });

  it('checks the extra architectures in the program', () => {
    const native = plan(deny(['mkdir']));
    const both = plan({ ...deny(['mkdir']), architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] });
    if (process.arch === 'x64') {
      assert.ok(constants(native.program).includes(AUDIT_ARCH_X86_64));
      assert.ok(!constants(native.program).includes(AUDIT_ARCH_I386));
      assert.ok(constants(both.program).includes(AUDIT_ARCH_I386));
    }
    assert.ok(both.program.length > native.program.length);
  });

  it('compiles argument comparisons with every operator, MASKED_EQ with its valueTwo', () => {
    const ops = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT'] as const;
    for (const op of ops) {
      const p = plan({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0x1234, op }] }] });
      assert.ok(constants(p.program).includes(0x1234), op);
    }
    const masked = plan({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0o707, valueTwo: 0o700, op: 'SCMP_CMP_MASKED_EQ' }] }],
    });
    assert.ok(constants(masked.program).includes(0o707), 'the mask');
    assert.ok(constants(masked.program).includes(0o700), 'the value');
    // The same argument twice: one rule per comparison rather than a libseccomp error.
    const twice = plan({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        {
          names: ['personality'],
          action: 'SCMP_ACT_ERRNO',
          args: [
            { index: 0, value: 8, op: 'SCMP_CMP_EQ' },
            { index: 0, value: 0x0400000, op: 'SCMP_CMP_EQ' },
          ],
        },
      ],
    });
    assert.ok(constants(twice.program).includes(8) && constants(twice.program).includes(0x0400000));
  });

  it('skips a syscall this architecture does not know, with a warning', () => {
    const warnings: string[] = [];
    const p = plan(deny(['mkdir', 'no_such_syscall_at_all']), warnings);
    assert.ok(p.program.length > 0);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /\/linux\/seccomp\/syscalls\/0\/names\/1: unknown syscall "no_such_syscall_at_all"/);
  });

  it('leaves out a rule with the default action (libseccomp refuses it; it changes nothing)', () => {
    const p = plan({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ALLOW' }] });
    assert.deepEqual(returnValues(p.program).filter((v) => v !== 0x7fff0000 && v !== 0), []);
  });

  it('turns the flags into seccomp(2) bits', () => {
    const p = plan({ ...deny(['mkdir']), flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] });
    assert.equal(p.flags, FILTER_FLAG.TSYNC | FILTER_FLAG.LOG | FILTER_FLAG.SPEC_ALLOW);
  });

  it('drops SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV with a warning when nothing notifies', () => {
    const warnings: string[] = [];
    const p = plan({ ...deny(['mkdir']), flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }, warnings);
    assert.equal(p.flags, 0);
    assert.match(warnings.join('\n'), /WAIT_KILLABLE_RECV ignored/);
  });

  it('asks for a listener for SCMP_ACT_NOTIFY, with TSYNC_ESRCH beside TSYNC', () => {
    const p = plan({
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/run/agent.sock',
      listenerMetadata: 'meta',
      flags: ['SECCOMP_FILTER_FLAG_TSYNC'],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
    });
    assert.equal(p.flags, FILTER_FLAG.TSYNC | FILTER_FLAG.NEW_LISTENER | FILTER_FLAG.TSYNC_ESRCH);
    assert.deepEqual(p.notify, { listenerPath: '/run/agent.sock', metadata: 'meta', socketFd: -1 });
    assert.ok(returnValues(p.program).includes(SECCOMP_RET_USER_NOTIF));
  });

  it('loads late with no_new_privs and early without', () => {
    assert.equal(plan(deny(['mkdir']), [], true).loadLate, true);
    assert.equal(plan(deny(['mkdir']), [], false).loadLate, false);
  });

  it('puts the plan in the container plan only when the config has seccomp', () => {
    const base = { id: 'x', bundle: '/b', rootfs: '/b/rootfs', fifoPath: '/run/x/exec.fifo', noPivot: false, preserveFds: 0 };
    const without = defaultSpec();
    without.process!.terminal = false;
    assert.equal('seccomp' in makePlan(without, base).process, false);
    assert.ok(makePlan(specWith(deny(['mkdir'])), base).process.seccomp?.program.length);
  });

  describe('errors name the JSON pointer', () => {
    const cases: Array<[string, LinuxSeccomp, string]> = [
      [
        'unknown action',
        {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [
            { names: ['a'], action: 'SCMP_ACT_LOG' },
            { names: ['b'], action: 'SCMP_ACT_LOG' },
            { names: ['c'], action: 'SCMP_ACT_LOG' },
            { names: ['mkdir'], action: 'SCMP_ACT_FOO' as never },
          ],
        },
        'config.json: /linux/seccomp/syscalls/3/action: unknown action "SCMP_ACT_FOO"',
      ],
      ['unknown default action', { defaultAction: 'SCMP_ACT_DENY' as never }, 'config.json: /linux/seccomp/defaultAction: unknown action "SCMP_ACT_DENY"'],
      [
        'unknown operator',
        { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_IN' as never }] }] },
        'config.json: /linux/seccomp/syscalls/0/args/0/op: unknown operator "SCMP_CMP_IN"',
      ],
      [
        'unknown architecture',
        { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AMD64' as never] },
        'config.json: /linux/seccomp/architectures/1: unknown architecture "SCMP_ARCH_AMD64" (or one this libseccomp does not know)',
      ],
      [
        'unknown flag',
        { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_NEW_LISTENER' as never] },
        'config.json: /linux/seccomp/flags/1: unknown flag "SECCOMP_FILTER_FLAG_NEW_LISTENER"',
      ],
      [
        'SCMP_ACT_NOTIFY without listenerPath',
        { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }, { names: ['mkdirat'], action: 'SCMP_ACT_NOTIFY' }] },
        'config.json: /linux/seccomp/syscalls/1/action: SCMP_ACT_NOTIFY needs /linux/seccomp/listenerPath',
      ],
      ['SCMP_ACT_NOTIFY as the default', { defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/x' }, 'config.json: /linux/seccomp/defaultAction: SCMP_ACT_NOTIFY cannot be the default action'],
      [
        'SCMP_ACT_NOTIFY for write',
        { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/x', syscalls: [{ names: ['mkdir', 'write'], action: 'SCMP_ACT_NOTIFY' }] },
        'config.json: /linux/seccomp/syscalls/0/names/1: SCMP_ACT_NOTIFY cannot be used for write: the runtime calls it after loading the filter',
      ],
      ['errnoRet beyond 16 bits', deny(['mkdir'], { errnoRet: 65536 }), 'config.json: /linux/seccomp/syscalls/0/errnoRet: must be an integer from 0 to 65535'],
      [
        'a fractional argument value',
        { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 1.5, op: 'SCMP_CMP_EQ' }] }] },
        'config.json: /linux/seccomp/syscalls/0/args/0/value: must be a non-negative integer',
      ],
    ];
    for (const [name, seccomp, message] of cases) {
      it(name, () => {
        assert.throws(
          () => planSeccomp(specWith(seccomp), () => undefined),
          (err: Error) => {
            assert.equal(err.name, 'ConfigError');
            assert.equal(err.message, message);
            return true;
          },
        );
      });
    }
  });
});
