// linux.memoryPolicy across two NUMA nodes: the policy names both nodes as
// the container sees them. The project's machines have one node; the
// minimal VM guest boots with two (hack/vm/vm.ts), so this runs there.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Session, nonEmptyLines } from '../helpers/session';
import { parseNodeList } from '../../src/linux/kernel-list';

const ONLINE = existsSync('/sys/devices/system/node/online') ? parseNodeList(readFileSync('/sys/devices/system/node/online', 'utf8')) : [];

describe('linux.memoryPolicy on two NUMA nodes', function () {
  this.timeout(120000);
  let s: Session;
  beforeEach(function () {
    if (ONLINE.length < 2) this.skip();
    s = new Session();
  });
  afterEach(() => s?.cleanup());

  it('MPOL_BIND and MPOL_INTERLEAVE over nodes 0-1, and MPOL_PREFERRED on node 1, seen in numa_maps inside (runs in the minimal VM guest, which has two nodes; skipped on a one-node host)', () => {
    const policy = (mode: string, nodes: string): string => {
      const b = s.bundle(['head', '-n', '1', '/proc/self/numa_maps'], (spec) => (spec.linux!.memoryPolicy = { mode: mode as 'MPOL_BIND', nodes }));
      const line = nonEmptyLines(s.ok(['run', '--bundle', b.dir, s.id('mp2')]).stdout)[0] ?? '';
      return line.split(' ')[1] ?? line;
    };
    assert.equal(policy('MPOL_BIND', '0-1'), 'bind:0-1');
    assert.equal(policy('MPOL_INTERLEAVE', '0-1'), 'interleave:0-1');
    assert.equal(policy('MPOL_PREFERRED', '1'), 'prefer:1');
  });
});
