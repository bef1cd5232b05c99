import assert from 'node:assert/strict';
import { formatKernelList, parseNodeList } from '../../src/linux/kernel-list';
import { nodeMask } from '../../src/linux/numa';
import { MPOL_FLAGS, MPOL_MODES, planMemoryPolicy } from '../../src/process/plan/memory-policy';
import { checkLinux } from '../../src/spec/semantic-linux';
import { ConfigError } from '../../src/errors';
import type { LinuxMemoryPolicy } from '../../src/spec/types';

describe('NUMA node lists', () => {
  it('parses the spec\'s list syntax into sorted, unique nodes', () => {
    assert.deepEqual(parseNodeList('0-3,7'), [0, 1, 2, 3, 7]);
    assert.deepEqual(parseNodeList('7,0-1,1\n'), [0, 1, 7]);
    assert.deepEqual(parseNodeList(''), []);
    assert.deepEqual(parseNodeList(' 5 '), [5]);
  });

  it('refuses what is not a list', () => {
    assert.throws(() => parseNodeList('a'), /"a" is not a node number or range/);
    assert.throws(() => parseNodeList('1,'), /"" is not a node number/);
    assert.throws(() => parseNodeList('3-1'), /ends before it starts/);
    assert.throws(() => parseNodeList('-1'), /not a node number/);
    assert.throws(() => parseNodeList('1024'), /beyond the kernel's limit/);
  });

  it('formats nodes back as ranges', () => {
    assert.equal(formatKernelList([0, 1, 2, 3, 7, 9, 10]), '0-3,7,9-10');
    assert.equal(formatKernelList([]), '');
  });

  it('builds the kernel\'s node mask: node n at bit n of unsigned longs, maxnode one past the bits', () => {
    const one = nodeMask([0, 3]);
    assert.equal(one.mask.length, 8);
    assert.equal(one.mask.readBigUInt64LE(0), 0b1001n);
    assert.equal(one.maxNode, 65);
    const two = nodeMask([1, 64]);
    assert.equal(two.mask.length, 16);
    assert.equal(two.mask.readBigUInt64LE(0), 2n);
    assert.equal(two.mask.readBigUInt64LE(8), 1n);
    assert.equal(two.maxNode, 129);
    assert.equal(nodeMask([]).mask.length, 0);
  });
});

describe('memory policy plan', () => {
  const host = { online: [0, 1], possible: [0, 1, 2, 3] };

  it('gives set_mempolicy its mode or\'ed with the flags, and the nodes', () => {
    const p = planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0-1', flags: ['MPOL_F_STATIC_NODES'] }, host)!;
    assert.equal(p.modeWithFlags, MPOL_MODES.MPOL_BIND | MPOL_FLAGS.MPOL_F_STATIC_NODES);
    assert.equal(p.modeWithFlags, 2 | 0x8000);
    assert.deepEqual(p.nodes, [0, 1]);
    assert.equal(p.describe, 'MPOL_BIND nodes 0-1 flags MPOL_F_STATIC_NODES');
    assert.equal(planMemoryPolicy({ mode: 'MPOL_LOCAL' }, host)!.modeWithFlags, 4);
    assert.equal(planMemoryPolicy(undefined, host), undefined);
  });

  it('has the kernel\'s numbers for every mode and flag', () => {
    assert.deepEqual(MPOL_MODES, { MPOL_DEFAULT: 0, MPOL_PREFERRED: 1, MPOL_BIND: 2, MPOL_INTERLEAVE: 3, MPOL_LOCAL: 4, MPOL_PREFERRED_MANY: 5, MPOL_WEIGHTED_INTERLEAVE: 6 });
    assert.deepEqual(MPOL_FLAGS, { MPOL_F_NUMA_BALANCING: 0x2000, MPOL_F_RELATIVE_NODES: 0x4000, MPOL_F_STATIC_NODES: 0x8000 });
  });

  it('refuses nodes that are not online (possible ones with static or relative nodes)', () => {
    assert.throws(
      () => planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '1-2,9' }, host),
      (e: ConfigError) => e.pointer === '/linux/memoryPolicy/nodes' && /node 2,9 does not exist on this host \(online nodes: 0-1\)/.test(e.message),
    );
    assert.deepEqual(planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '3', flags: ['MPOL_F_STATIC_NODES'] }, host)!.nodes, [3]);
    assert.throws(() => planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '4', flags: ['MPOL_F_RELATIVE_NODES'] }, host), /possible nodes: 0-3/);
  });

  it('refuses any policy on a kernel without NUMA', () => {
    assert.throws(() => planMemoryPolicy({ mode: 'MPOL_DEFAULT' }, null), /\/linux\/memoryPolicy: this kernel has no NUMA support/);
  });
});

describe('memory policy config checks', () => {
  const check = (mp: LinuxMemoryPolicy): void => {
    checkLinux({ memoryPolicy: mp });
  };
  const refused = (mp: LinuxMemoryPolicy, pointer: string, re: RegExp): void => {
    assert.throws(() => check(mp), (e: ConfigError) => e.pointer === pointer && re.test(e.detail), JSON.stringify(mp));
  };

  it('nodes by mode', () => {
    refused({ mode: 'MPOL_DEFAULT', nodes: '0' }, '/linux/memoryPolicy/nodes', /must be empty/);
    refused({ mode: 'MPOL_BIND' }, '/linux/memoryPolicy', /required property 'nodes'/);
    refused({ mode: 'MPOL_BIND', nodes: 'x' }, '/linux/memoryPolicy/nodes', /not a node number/);
    refused({ mode: 'MPOL_PREFERRED', nodes: '0,2' }, '/linux/memoryPolicy/nodes', /takes one node/);
  });

  it('flags the kernel refuses or would ignore', () => {
    refused({ mode: 'MPOL_DEFAULT', flags: ['MPOL_F_STATIC_NODES'] }, '/linux/memoryPolicy/flags', /must be empty/);
    refused({ mode: 'MPOL_PREFERRED', flags: ['MPOL_F_RELATIVE_NODES'] }, '/linux/memoryPolicy/flags', /without nodes/);
    refused({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] }, '/linux/memoryPolicy/flags', /exclude each other/);
    refused({ mode: 'MPOL_WEIGHTED_INTERLEAVE', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] }, '/linux/memoryPolicy/flags', /needs mode MPOL_BIND or MPOL_PREFERRED_MANY/);
  });
});
