import assert from 'node:assert/strict';
import { splitGlobal, parseCommandArgs } from '../../src/cli/parse';
import { createCommand } from '../../src/cli/commands/create';
import { killCommand } from '../../src/cli/commands/kill';
import { runCommand } from '../../src/cli/commands/run';
import { updateCommand } from '../../src/cli/commands/update';

describe('CLI parsing', () => {
  it('splits global flags from the verb, in both --flag v and --flag=v forms', () => {
    const { globals, verb, rest } = splitGlobal(['--root', '/r', '--log=/l', '--log-format', 'json', 'create', '--bundle', 'b', 'id']);
    assert.equal(globals.root, '/r');
    assert.equal(globals.log, '/l');
    assert.equal(globals.logFormat, 'json');
    assert.equal(verb, 'create');
    assert.deepEqual(rest, ['--bundle', 'b', 'id']);
  });

  it('reads single-dash long flags the way runc callers write them', () => {
    const { globals, verb, rest } = splitGlobal(['-root', '/r', 'run', '-no-subreaper', '-bundle', 'b', 'id']);
    assert.equal(globals.root, '/r');
    assert.equal(verb, 'run');
    const args = parseCommandArgs(runCommand, rest);
    assert.equal(args.bundle, 'b');
    assert.equal(args.noSubreaper, true);
    assert.deepEqual(args._, ['id']);
  });

  it('does not read --no-pivot as the negation of a "pivot" flag', () => {
    const args = parseCommandArgs(createCommand, ['--no-pivot', '--preserve-fds', '2', 'id']);
    assert.equal(args.noPivot, true);
    assert.equal(args.preserveFds, 2);
  });

  it('takes a lone "-" as a flag value (stdin)', () => {
    const args = parseCommandArgs(updateCommand, ['-r', '-', 'id']);
    assert.equal(args.resources, '-');
    assert.deepEqual(args._, ['id']);
    assert.equal(parseCommandArgs(updateCommand, ['--resources', '-', 'id']).resources, '-');
  });

  it('applies defaults and aliases', () => {
    const args = parseCommandArgs(createCommand, ['-b', '/x', 'id']);
    assert.equal(args.bundle, '/x');
    assert.equal(parseCommandArgs(createCommand, ['id']).bundle, '.');
  });

  it('refuses unknown flags, bad numbers and a wrong argument count', () => {
    assert.throws(() => parseCommandArgs(createCommand, ['--bogus', 'id']), /flag provided but not defined: -bogus/);
    assert.throws(() => parseCommandArgs(createCommand, ['--preserve-fds', 'x', 'id']), /invalid value "x" for flag -preserve-fds/);
    assert.throws(() => parseCommandArgs(createCommand, []), /"create" requires exactly 1 argument/);
    assert.throws(() => parseCommandArgs(killCommand, ['a', 'b', 'c']), /"kill" requires 1 to 2 argument/);
  });
});
