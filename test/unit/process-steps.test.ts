import assert from 'node:assert/strict';
import { STAGE1_STEPS } from '../../src/process/create/stage1';
import { INIT_STEPS } from '../../src/process/create/init';
import { EXEC_STAGE1_STEPS } from '../../src/process/exec/stage1';
import { EXEC_STEPS } from '../../src/process/exec/child';
import { PROCESS_STEPS, runSteps, type Step } from '../../src/process/setup/steps';
import { errorOf, reportOf, StepFailure } from '../../src/process/channel/reports';
import { ChildError, configError, ConfigError, SyscallError, UserError } from '../../src/errors';

const names = (steps: ReadonlyArray<Step<never, never>>): string[] => steps.map(([name]) => name);

const PROCESS_STEP_NAMES = [
  'personality, I/O priority, scheduler',
  'memory policy',
  'rlimits',
  'cwd',
  'seccomp without no_new_privs',
  'user and capabilities',
  'no new privileges',
  'cwd as the user',
  'find program',
  'LSM labels',
];

describe('process pipeline steps', () => {
  it('create: stage 1, then the init: the container first, then the shared process steps', () => {
    assert.deepEqual(names(STAGE1_STEPS), ['cgroup placement', 'note cgroup directories', 'hold exec fifo', 'join namespaces', 'user namespace', 'new namespaces', 'network devices', 'time offsets']);
    assert.deepEqual(names(INIT_STEPS), [
      'not dumpable',
      'new session',
      'enter bundle',
      'hold exec fifo',
      'host pid',
      'seccomp agent pid',
      'loopback',
      'root filesystem',
      'create hooks',
      'switch root',
      'terminal',
      'finish root filesystem',
      'hostname',
      'domainname',
      'sysctl, read-only and masked paths',
      ...PROCESS_STEP_NAMES,
    ]);
  });

  it('exec: stage 1, then the child: into the container, then the same process steps', () => {
    assert.deepEqual(names(EXEC_STAGE1_STEPS), ['cgroup placement', 'open the container', 'join namespaces']);
    assert.deepEqual(names(EXEC_STEPS), ['not dumpable', 'seccomp agent pid', 'container root', 'terminal', ...PROCESS_STEP_NAMES]);
  });

  it('the shared list is the one both pipelines end with', () => {
    assert.deepEqual(names(PROCESS_STEPS), PROCESS_STEP_NAMES);
    assert.deepEqual(names(INIT_STEPS).slice(-PROCESS_STEPS.length), names(EXEC_STEPS).slice(-PROCESS_STEPS.length));
  });

  it('a failing step stops the run and carries its name', () => {
    const ran: string[] = [];
    const steps: Array<Step<null, string[]>> = [
      ['first', (_p, log) => log.push('first')],
      ['second', () => {
        throw new SyscallError('pivot_root', 'EINVAL', 22, '".", "."');
      }],
      ['third', (_p, log) => log.push('third')],
    ];
    assert.throws(
      () => runSteps(steps, null, ran),
      (err: unknown) => err instanceof StepFailure && err.step === 'second' && err.failure instanceof SyscallError,
    );
    assert.deepEqual(ran, ['first']);
  });
});

describe('child error reports', () => {
  it('a syscall failure crosses as data and is rendered once, naming verb and step', () => {
    const report = reportOf(new StepFailure('switch root', new SyscallError('pivot_root', 'EINVAL', 22, '".", "."')));
    assert.deepEqual(report, { kind: 'syscall', message: 'pivot_root(".", "."): EINVAL', call: 'pivot_root', errnoName: 'EINVAL', errno: 22, subject: '".", "."', step: 'switch root' });
    const err = errorOf(JSON.parse(JSON.stringify(report)), 'create');
    assert.ok(err instanceof ChildError && err instanceof UserError);
    assert.equal(err.message, 'create: step "switch root": pivot_root(".", "."): EINVAL');
    assert.ok(err.failure instanceof SyscallError);
    assert.equal((err.failure as SyscallError).errnoName, 'EINVAL');
  });

  it('a config error keeps its JSON pointer; an error outside any step has no step', () => {
    const err = errorOf(reportOf(new ConfigError('config.json', '/process/cwd', 'must be an absolute path')), 'exec');
    assert.equal(err.message, 'exec: config.json: /process/cwd: must be an absolute path');
    assert.equal(err.step, undefined);
    assert.equal((err.failure as ConfigError).pointer, '/process/cwd');
  });

  it('a config error keeps the syscall behind it (a mount on the path the user wrote)', () => {
    const mount = new SyscallError('mount', 'ENODEV', 19, '"bogusfs" on /mnt');
    const report = reportOf(new StepFailure('root filesystem', configError('/mounts/7', mount.message, mount)));
    const err = errorOf(JSON.parse(JSON.stringify(report)), 'create');
    assert.equal(err.message, 'create: step "root filesystem": config.json: /mounts/7: mount("bogusfs" on /mnt): ENODEV');
    const cause = (err.failure as ConfigError).cause;
    assert.ok(cause instanceof SyscallError);
    assert.equal(cause.errnoName, 'ENODEV');
  });
});
