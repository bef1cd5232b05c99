// Bad input to create and run: one line on stderr, exit 1, and nothing left
// behind - no state root entry, no mount, no process.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Session, nonEmptyLines } from '../helpers/session';
import type { Bundle } from '../helpers/harness';
import type { Spec } from '../../src/spec/types';

interface Case {
  name: string;
  /** Makes the bundle; returns the directory to pass as --bundle. */
  setup(s: Session): { bundle: Bundle; dir: string };
  stderr: RegExp;
  /** What stderr must not hold (a path the user never wrote). */
  notStderr?: RegExp;
}

function configCase(name: string, mutate: (spec: Spec) => void, stderr: RegExp, args: string[] = ['true'], notStderr?: RegExp): Case {
  return {
    name,
    setup: (s) => {
      const bundle = s.bundle(args, mutate);
      return { bundle, dir: bundle.dir };
    },
    stderr,
    notStderr,
  };
}

const CASES: Case[] = [
  {
    name: 'missing bundle directory',
    setup: (s) => {
      const bundle = s.bundle(['true']);
      return { bundle, dir: join(bundle.dir, 'no-such-dir') };
    },
    stderr: /no-such-dir/,
  },
  {
    name: 'missing config.json',
    setup: (s) => {
      const bundle = s.bundle(['true']);
      rmSync(bundle.configPath);
      return { bundle, dir: bundle.dir };
    },
    stderr: /config\.json/,
  },
  {
    name: 'invalid JSON',
    setup: (s) => {
      const bundle = s.bundle(['true']);
      bundle.writeConfig('{"ociVersion": "1.3.0", "process": {');
      return { bundle, dir: bundle.dir };
    },
    stderr: /config\.json.*JSON/,
  },
  {
    name: 'config.json is a directory',
    setup: (s) => {
      const bundle = s.bundle(['true']);
      rmSync(bundle.configPath);
      mkdirSync(bundle.configPath);
      return { bundle, dir: bundle.dir };
    },
    stderr: /config\.json/,
  },
  configCase(
    'schema error: uidMappings size "x"',
    (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 'x' as unknown as number }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    },
    /config\.json: \/linux\/uidMappings\/0\/size: must be integer/,
  ),
  configCase(
    'duplicate namespace',
    (spec) => {
      spec.linux!.namespaces!.push({ type: 'pid' });
    },
    /duplicate namespace/,
  ),
  configCase(
    'user namespace without mappings',
    (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
    },
    /uidMappings/,
  ),
  configCase(
    'relative mount destination',
    (spec) => {
      spec.mounts!.push({ destination: 'relative/dir', type: 'tmpfs', source: 'tmpfs' });
    },
    /destination/,
  ),
  configCase(
    'empty process.args',
    (spec) => {
      spec.process!.args = [];
    },
    /\/process\/args/,
  ),
  configCase(
    'missing root.path',
    (spec) => {
      delete (spec.root as { path?: string }).path;
    },
    /\/root/,
  ),
  configCase(
    'missing root directory',
    (spec) => {
      spec.root!.path = 'no-such-rootfs';
    },
    /no-such-rootfs/,
  ),
  configCase('missing program', () => undefined, /exec: "nonexistent": executable file not found in \$PATH/, ['nonexistent']),
  configCase('program path that is not there', () => undefined, /\/bin\/nonexistent/, ['/bin/nonexistent']),
  configCase(
    'a mount that fails in the init (type nosuchfs)',
    (spec) => {
      spec.mounts!.push({ destination: '/mnt', type: 'nosuchfs', source: 'none' });
    },
    /nosuchfs/,
  ),
  configCase(
    'an unknown filesystem type: the error names the destination as written and the entry, not /proc/self/fd/N',
    (spec) => {
      spec.mounts!.push({ destination: '/mnt', type: 'bogusfs', source: 'none' });
    },
    // A substring: how the init's error reaches the parent may add to the line.
    /config\.json: \/mounts\/\d+: mount\("bogusfs" on \/mnt\): ENODEV/,
    ['true'],
    /\/proc\/self\/fd/,
  ),
  configCase(
    'a bind mount of a missing source',
    (spec) => {
      spec.mounts!.push({ destination: '/mnt', type: 'bind', source: '/no/such/source/dir', options: ['rbind'] });
    },
    /\/no\/such\/source\/dir/,
  ),
];

describe('lifecycle: bad input leaves nothing behind', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  for (const verb of ['create', 'run']) {
    it(`${verb}: a pid file that cannot be written (the init is already made)`, () => {
      const bundle = s.bundle(['true']);
      const id = s.id('bad');
      const r = s.exec([verb, '--bundle', bundle.dir, '--pid-file', join(bundle.dir, 'no-such-dir', 'pid'), id]);
      assert.equal(r.status, 1, `exit ${r.status ?? r.signal}: ${r.stderr}`);
      assert.equal(nonEmptyLines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /no-such-dir/);
      assert.deepEqual(s.leftovers(bundle, id), []);
      assert.deepEqual(s.rootEntries(), []);
    });
  }
});

describe('lifecycle: bad config leaves nothing behind', function () {
  this.timeout(60000);
  let s: Session;
  beforeEach(() => {
    s = new Session();
  });
  afterEach(() => s.cleanup());

  for (const c of CASES) {
    for (const verb of ['create', 'run']) {
      it(`${verb}: ${c.name}`, () => {
        const { bundle, dir } = c.setup(s);
        const id = s.id('bad');
        const r = s.exec([verb, '--bundle', dir, '--pid-file', join(bundle.dir, 'pid'), id]);
        assert.equal(r.status, 1, `exit ${r.status ?? r.signal}: ${r.stderr}`);
        const lines = nonEmptyLines(r.stderr);
        assert.equal(lines.length, 1, `stderr has ${lines.length} lines:\n${r.stderr}`);
        assert.match(r.stderr, c.stderr);
        if (c.notStderr) assert.doesNotMatch(r.stderr, c.notStderr);
        assert.equal(r.stdout, '');
        assert.deepEqual(s.leftovers(bundle, id), []);
        assert.equal(s.exec(['state', id]).status, 1, 'the id exists after a failed create');
        assert.deepEqual(s.rootEntries(), [], 'state root not empty');
        assert.equal(existsSync(join(bundle.dir, 'pid')), false, 'pid file written');
      });
    }
  }
});
