// Which LSMs the host runs, from securityfs or, where the caller's mount
// namespace has none (podman --uidmap), from the modules' sysfs files.
import assert from 'node:assert/strict';
import { checkLsmSupport, lsmsFrom } from '../../src/linux/lsm';

describe('LSM detection', () => {
  it("takes securityfs' list when there is one", () => {
    assert.deepEqual(lsmsFrom({ lsmList: 'lockdown,capability,landlock,yama,apparmor\n', apparmorEnabled: 'N\n', selinuxfs: false }), [
      'lockdown',
      'capability',
      'landlock',
      'yama',
      'apparmor',
    ]);
  });

  it('without securityfs, finds AppArmor from its module parameter and SELinux from selinuxfs', () => {
    assert.deepEqual(lsmsFrom({ apparmorEnabled: 'Y\n', selinuxfs: false }), ['apparmor']);
    assert.deepEqual(lsmsFrom({ apparmorEnabled: 'N\n', selinuxfs: true }), ['selinux']);
    assert.deepEqual(lsmsFrom({ selinuxfs: false }), []);
  });

  it('refuses a profile for an LSM the host lacks, naming the field', () => {
    assert.throws(() => checkLsmSupport('containers-default', undefined, []), /^ConfigError: config\.json: \/process\/apparmorProfile: AppArmor is not enabled on this host/);
    assert.doesNotThrow(() => checkLsmSupport('containers-default', undefined, lsmsFrom({ apparmorEnabled: 'Y', selinuxfs: false })));
  });
});
