import assert from 'node:assert/strict';
import { runtimeFeatures } from '../../src/lifecycle/features';
import { loadPublished } from '../helpers/published-schema';
import { mountOptionKind } from '../../src/linux/mount-options';

describe('features', () => {
  it('is valid against the published features schema', () => {
    const validate = loadPublished('features-schema.json');
    const features = runtimeFeatures();
    assert.ok(validate(features), JSON.stringify(validate.errors));
  });

  it('names what this runtime implements', () => {
    const f = runtimeFeatures() as { ociVersionMax: string; hooks: string[]; linux: { namespaces: string[]; seccomp: { actions: string[] } } };
    assert.equal(f.ociVersionMax, '1.3.0');
    assert.ok(f.hooks.includes('createContainer'));
    assert.ok(f.linux.namespaces.includes('time'));
    assert.ok(f.linux.seccomp.actions.includes('SCMP_ACT_NOTIFY'));
  });

  it('lists exactly the mount options tsrun applies, and the extensions it has', () => {
    const f = runtimeFeatures() as { mountOptions: string[]; linux: { mountExtensions: { idmap: { enabled: boolean } }; netDevices: { enabled: boolean }; intelRdt: { enabled: boolean } } };
    for (const o of ['rro', 'rnosuid', 'tmpcopyup', 'copy-symlink', 'idmap', 'ridmap', 'nosymfollow', 'rslave']) assert.ok(f.mountOptions.includes(o), o);
    for (const o of f.mountOptions) assert.notEqual(mountOptionKind(o), 'data', `${o} is listed but handed to the filesystem as data`);
    assert.deepEqual([...f.mountOptions].sort(), f.mountOptions, 'sorted, each once');
    assert.equal(new Set(f.mountOptions).size, f.mountOptions.length);
    assert.equal(f.linux.mountExtensions.idmap.enabled, true);
    assert.equal(f.linux.netDevices.enabled, true);
    assert.equal(f.linux.intelRdt.enabled, true);
  });

  it('has a schema that catches a wrong document (the test has teeth)', () => {
    const validate = loadPublished('features-schema.json');
    assert.equal(validate({ ociVersionMax: '1.3.0' }), false);
    assert.equal(validate({ ociVersionMin: '1.0.0', ociVersionMax: '1.3.0', linux: { namespaces: ['bogus'] } }), false);
  });
});
