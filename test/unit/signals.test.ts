import assert from 'node:assert/strict';
import { parseSignal } from '../../src/lifecycle/signals';
import { validateId } from '../../src/lifecycle/ids';

describe('signal names', () => {
  it('accepts names with and without SIG, any case, and numbers', () => {
    assert.equal(parseSignal('KILL'), 9);
    assert.equal(parseSignal('SIGKILL'), 9);
    assert.equal(parseSignal('term'), 15);
    assert.equal(parseSignal('9'), 9);
    assert.equal(parseSignal('SIGRTMIN+2'), 36);
    assert.equal(parseSignal('RTMAX'), 64);
  });

  it('refuses unknown ones with the text given', () => {
    assert.throws(() => parseSignal('FOO'), /unknown signal "FOO"/);
    assert.throws(() => parseSignal('65'), /unknown signal "65"/);
  });
});

describe('container ids', () => {
  it('accepts runc-style ids', () => {
    for (const id of ['abc', 'a.b-c_d+e', 'X1']) assert.equal(validateId(id), id);
  });
  it('refuses path-like or empty ids', () => {
    for (const id of ['a/b', '..', '.', '', 'a b', '../x']) assert.throws(() => validateId(id), /container id/);
  });
});
