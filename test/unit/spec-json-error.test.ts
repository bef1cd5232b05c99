// findJsonSyntaxProblem() must agree with JSON.parse on what is valid and
// point at the first offending character.

import * as assert from 'node:assert/strict';
import { findJsonSyntaxProblem } from '../../src/spec/json-error';

const samples = [
  '{}',
  '[]',
  ' {"a": [1, -2.5e+3, 0, true, false, null, "x\\u00e9\\n"]} ',
  '"str"',
  '0',
  '{"a": {"b": {"c": []}}}',
  '',
  '{',
  '{"a"}',
  '{"a": }',
  '[1,]',
  '{"a":1,}',
  '01',
  '1.',
  '-',
  '"\\x"',
  '"a\nb"',
  'tru',
  '{"a":1}x',
  "{'a':1}",
  '[1 2]',
  '{"a" 1}',
  '{"a":1 "b":2}',
];

describe('spec: JSON syntax error locator', function () {
  for (const s of samples) {
    it(`agrees with JSON.parse on ${JSON.stringify(s)}`, function () {
      let parses = true;
      try {
        JSON.parse(s);
      } catch {
        parses = false;
      }
      assert.equal(findJsonSyntaxProblem(s) === null, parses);
    });
  }

  it('locates the problem', function () {
    assert.deepEqual(findJsonSyntaxProblem('{\n  "a": 1,\n  "b": x\n}'), { line: 3, column: 8, what: 'unexpected "x"' });
    assert.deepEqual(findJsonSyntaxProblem('[1,'), { line: 1, column: 4, what: 'unexpected end of input' });
  });

  it('survives deep nesting', function () {
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    assert.equal(findJsonSyntaxProblem(deep), null);
    assert.deepEqual(findJsonSyntaxProblem('['.repeat(100000)), { line: 1, column: 100001, what: 'unexpected end of input' });
  });
});
