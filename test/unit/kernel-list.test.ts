import assert from 'node:assert/strict';
import { parseCpuList } from '../../src/linux/kernel-list';

describe('kernel CPU lists ("0-3,7")', () => {
  it('reads numbers and ranges, ascending, without repeats', () => {
    assert.deepEqual(parseCpuList('7,0-3'), [0, 1, 2, 3, 7]);
    assert.deepEqual(parseCpuList(' 1 , 1-2 '), [1, 2]);
    assert.deepEqual(parseCpuList('5'), [5]);
  });

  it('says what is wrong with a bad list', () => {
    assert.throws(() => parseCpuList('0,,1'), /"" is not a CPU number or range/);
    assert.throws(() => parseCpuList('3-1'), /range "3-1" ends before it starts/);
    assert.throws(() => parseCpuList('1 2'), /"1 2" is not a CPU number or range/);
    assert.throws(() => parseCpuList('0-9000'), /CPU 9000 is beyond the kernel's limit of 8192 CPUs/);
  });
});
