// The README's demo: bundles/demo runs and shows what it promises.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Runtime, REPO, uniqueId } from '../helpers/harness';

describe('demo bundle', () => {
  let runtime: Runtime;
  beforeEach(() => {
    runtime = new Runtime();
  });
  afterEach(() => runtime.destroy());

  it('prints its hostname, id, pid 1 and its mounts from inside the container', () => {
    const r = runtime.run(['run', '--bundle', join(REPO, 'bundles', 'demo'), uniqueId('demo')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^hostname: tsrun-demo$/m);
    assert.match(r.stdout, /^id: uid=0\(root\) gid=0\(root\)/m);
    assert.match(r.stdout, /^pid: 1$/m);
    assert.match(r.stdout, /^mounts:\n(.+\n)*proc \/proc proc /m);
    assert.deepEqual(runtime.leftoverStateDirs(), []);
  });
});
