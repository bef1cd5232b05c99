// Devices on cgroup v2: the rules (with the defaults) compiled to an eBPF
// program and attached to the container's cgroup, replacing any earlier one.
import type { LinuxDeviceCgroup } from '../../spec/types';
import { buildDeviceProgram } from './ebpf';
import { withDefaultDeviceRules } from './defaults';

export function applyV2DeviceRules(dir: string, rules: LinuxDeviceCgroup[]): void {
  // Loaded here, not at the top: only v2 hosts pay for the bpf bindings.
  const { setCgroupDeviceProgram } = require('../../linux/bpf') as typeof import('../../linux/bpf');
  const program = buildDeviceProgram(withDefaultDeviceRules(rules));
  setCgroupDeviceProgram(dir, program.bytes, program.license);
}
