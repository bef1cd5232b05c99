// The pure part of idmapped mounts: which mounts get a mapping, from which
// mappings, recursive or not, and the refusals with their pointers.
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors';
import { idmapKind, idmapPointer, mappingKey, planIdmappedMounts } from '../../src/process/plan/idmapped-mounts';
import type { Mount, Spec } from '../../src/spec/types';

const containerMaps = [{ containerID: 0, hostID: 100000, size: 65536 }];
const mountMaps = [{ containerID: 0, hostID: 2000, size: 10 }];

function spec(mounts: Mount[], namespaces: Spec['linux'] extends infer L ? (L extends { namespaces?: infer N } ? N : never) : never = [{ type: 'user' }, { type: 'mount' }]): Spec {
  return { ociVersion: '1.3.0', root: { path: 'rootfs' }, mounts, linux: { namespaces, uidMappings: containerMaps, gidMappings: containerMaps } };
}

const plan = (s: Spec, rootless = false) => planIdmappedMounts(s, { bundle: '/bundles/b', rootless });

function assertRefused(fn: () => unknown, pointer: string, detail: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.pointer, pointer);
    assert.match(err.detail, detail);
    return true;
  });
}

describe('idmapped mounts: plan', () => {
  it('tells idmap, ridmap (the last named wins) and bare mappings apart', () => {
    assert.equal(idmapKind({ destination: '/d', options: ['bind'] }), undefined);
    assert.equal(idmapKind({ destination: '/d', options: ['bind', 'idmap'] }), 'idmap');
    assert.equal(idmapKind({ destination: '/d', options: ['ridmap', 'idmap'] }), 'idmap');
    assert.equal(idmapKind({ destination: '/d', options: ['idmap', 'rbind', 'ridmap'] }), 'ridmap');
    assert.equal(idmapKind({ destination: '/d', options: ['bind'], uidMappings: mountMaps, gidMappings: mountMaps }), 'mappings');
  });

  it('points at the option, else at uidMappings', () => {
    assert.equal(idmapPointer({ destination: '/d', options: ['bind', 'ridmap'] }, 4), '/mounts/4/options/1');
    assert.equal(idmapPointer({ destination: '/d', options: ['bind'], uidMappings: mountMaps }, 2), '/mounts/2/uidMappings');
  });

  it('uses the mount\'s own mappings, resolves a relative source against the bundle', () => {
    const [p, ...rest] = plan(spec([{ destination: '/d', type: 'bind', source: 'vol', options: ['bind', 'idmap'], uidMappings: mountMaps, gidMappings: mountMaps }]));
    assert.deepEqual(rest, []);
    assert.deepEqual(p, {
      index: 0,
      source: '/bundles/b/vol',
      recursiveTree: false,
      recursiveIdmap: false,
      userns: { kind: 'mappings', uidMappings: mountMaps, gidMappings: mountMaps },
    });
  });

  it('falls back to the container\'s mappings; rbind and ridmap make it recursive', () => {
    const planned = plan(spec([
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/d', type: 'bind', source: '/vol', options: ['rbind', 'ridmap'] },
      { destination: '/e', type: 'bind', source: '/vol', options: ['rbind', 'idmap'] },
    ]));
    assert.deepEqual(planned.map((p) => [p.index, p.recursiveTree, p.recursiveIdmap]), [[1, true, true], [2, true, false]]);
    assert.deepEqual(planned[0].userns, { kind: 'mappings', uidMappings: containerMaps, gidMappings: containerMaps });
    assert.equal(mappingKey(planned[0].userns), mappingKey(planned[1].userns));
    assert.notEqual(mappingKey(planned[0].userns), mappingKey({ kind: 'mappings', uidMappings: mountMaps, gidMappings: mountMaps }));
  });

  it('takes a joined user namespace itself when the mount has no mappings', () => {
    const [p] = plan(spec([{ destination: '/d', type: 'bind', source: '/vol', options: ['idmap'] }], [{ type: 'user', path: '/proc/42/ns/user' }, { type: 'mount' }]));
    assert.deepEqual(p.userns, { kind: 'namespace', path: '/proc/42/ns/user' });
  });

  it('refuses a runtime that is not root, and a joined mount namespace', () => {
    const mounts: Mount[] = [{ destination: '/d', type: 'bind', source: '/vol', options: ['bind', 'idmap'] }];
    assertRefused(() => plan(spec(mounts), true), '/mounts/0/options/1', /need a runtime that is root on the host/);
    assertRefused(
      () => plan(spec(mounts, [{ type: 'user' }, { type: 'mount', path: '/proc/42/ns/mnt' }])),
      '/mounts/0/options/1',
      /not supported with a joined mount namespace \(\/linux\/namespaces\/1\/path\)/,
    );
  });
});
