// Semantic rules for the `linux` object of config.json (config-linux.md).
// See semantic.ts for what belongs here and what does not.

import { parseNodeList } from '../linux/kernel-list';
import { fail, pointer, requireAbsolute, requireNonEmptyKeys, requireProperty } from './check-util';
import type {
  Linux,
  LinuxIDMapping,
  LinuxIntelRdt,
  LinuxMemoryPolicy,
  LinuxResources,
  LinuxSeccomp,
  NamespaceType,
} from './types';

const CLOCKS = ['monotonic', 'boottime'];
/** Seccomp actions that can return an errno (config-linux.md "Seccomp"). */
const ERRNO_ACTIONS = ['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE'];
/** A syscall has six argument registers. */
const MAX_SYSCALL_ARGS = 6;
/** set_mempolicy(2): these modes take no node mask, these need a non-empty one. */
const MODES_WITHOUT_NODES = ['MPOL_DEFAULT', 'MPOL_LOCAL'];
const MODES_WITH_NODES = ['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED_MANY'];
/** The modes the kernel takes MPOL_F_NUMA_BALANCING with (MPOL_PREFERRED_MANY since Linux 6.10). */
const NUMA_BALANCING_MODES = ['MPOL_BIND', 'MPOL_PREFERRED_MANY'];
/** IFNAMSIZ is 16 including the terminating NUL. */
const MAX_IFNAME = 15;

/** True if linux.namespaces lists `type` (created or joined). */
export function hasNamespace(linux: Linux | undefined, type: NamespaceType): boolean {
  return linux?.namespaces?.some((ns) => ns.type === type) ?? false;
}

/** True if the container gets a new namespace of `type` (listed without a path). */
function createsNamespace(linux: Linux, type: NamespaceType): boolean {
  return linux.namespaces?.some((ns) => ns.type === type && ns.path === undefined) ?? false;
}

export function checkLinux(linux: Linux): void {
  checkNamespaces(linux);
  checkIdMappings(linux);
  checkTimeOffsets(linux);
  linux.devices?.forEach((d, i) => {
    const ptr = pointer('linux', 'devices', i);
    requireAbsolute(d.path, `${ptr}/path`);
    if (d.type !== 'p') {
      requireProperty(d, 'major', ptr);
      requireProperty(d, 'minor', ptr);
    }
  });
  checkNetDevices(linux);
  if (linux.resources !== undefined) checkResources(linux.resources);
  if (linux.seccomp !== undefined) checkSeccomp(linux.seccomp);
  linux.maskedPaths?.forEach((p, i) => requireAbsolute(p, pointer('linux', 'maskedPaths', i)));
  linux.readonlyPaths?.forEach((p, i) => requireAbsolute(p, pointer('linux', 'readonlyPaths', i)));
  requireNonEmptyKeys(linux.sysctl, '/linux/sysctl');
  if (linux.personality !== undefined) {
    requireProperty(linux.personality, 'domain', '/linux/personality');
    // "Currently no flag values are supported", so any flag is an unsupported value.
    const flag = linux.personality.flags?.[0];
    if (flag !== undefined) fail('/linux/personality/flags/0', `unsupported personality flag ${JSON.stringify(flag)}`);
  }
  if (linux.intelRdt !== undefined) checkIntelRdt(linux.intelRdt);
  if (linux.memoryPolicy !== undefined) checkMemoryPolicy(linux.memoryPolicy);
}

function checkNamespaces(linux: Linux): void {
  const seen = new Map<string, number>();
  linux.namespaces?.forEach((ns, i) => {
    const ptr = pointer('linux', 'namespaces', i);
    if (seen.has(ns.type)) fail(`${ptr}/type`, `duplicate namespace "${ns.type}"`);
    seen.set(ns.type, i);
    // "This value MUST be an absolute path in the runtime mount namespace."
    if (ns.path !== undefined) requireAbsolute(ns.path, `${ptr}/path`);
  });
}

function checkIdMappings(linux: Linux): void {
  const uid = linux.uidMappings ?? [];
  const gid = linux.gidMappings ?? [];
  if (createsNamespace(linux, 'user')) {
    // A new user namespace without maps leaves every id unmapped (nobody);
    // nothing in the container could work. Joining one (path set) needs none.
    if (uid.length === 0) fail('/linux', 'a new user namespace needs uidMappings');
    if (gid.length === 0) fail('/linux', 'a new user namespace needs gidMappings');
  } else if (!hasNamespace(linux, 'user')) {
    if (uid.length > 0) fail('/linux/uidMappings', 'needs a "user" entry in /linux/namespaces');
    if (gid.length > 0) fail('/linux/gidMappings', 'needs a "user" entry in /linux/namespaces');
  }
  checkMapSizes(uid, '/linux/uidMappings');
  checkMapSizes(gid, '/linux/gidMappings');
}

// The kernel rejects a uid_map/gid_map line with a zero count.
function checkMapSizes(maps: LinuxIDMapping[], ptr: string): void {
  maps.forEach((m, i) => {
    if (m.size === 0) fail(`${ptr}/${i}/size`, 'must be greater than 0');
  });
}

function checkTimeOffsets(linux: Linux): void {
  const offsets = linux.timeOffsets;
  if (offsets === undefined) return;
  for (const [clock, off] of Object.entries(offsets)) {
    const ptr = pointer('linux', 'timeOffsets', clock);
    if (!CLOCKS.includes(clock)) fail(ptr, `unknown clock (allowed: ${CLOCKS.join(', ')})`);
    // time_namespaces(7): nanoseconds must be below one second.
    if ((off?.nanosecs ?? 0) >= 1e9) fail(`${ptr}/nanosecs`, 'must be less than 1000000000');
  }
  // Offsets can only be written to a time namespace that no process has
  // entered yet, i.e. one this container creates.
  if (Object.keys(offsets).length > 0 && !createsNamespace(linux, 'time')) {
    fail('/linux/timeOffsets', 'needs a new time namespace (a "time" entry without path in /linux/namespaces)');
  }
}

function checkNetDevices(linux: Linux): void {
  const devs = linux.netDevices;
  if (devs === undefined || Object.keys(devs).length === 0) return;
  // Moving an interface into the runtime's own network namespace is meaningless.
  if (!hasNamespace(linux, 'network')) fail('/linux/netDevices', 'needs a "network" entry in /linux/namespaces');
  // A joined namespace is set up by its owner: "when a path is specified, a
  // runtime MUST assume that the setup for that particular namespace has
  // already been done and error out if the config specifies anything else
  // related to that namespace" (config-linux.md "Namespaces").
  if (!createsNamespace(linux, 'network')) fail('/linux/netDevices', 'needs a new network namespace (the "network" entry of /linux/namespaces has a path)');
  // A new namespace holds only "lo" before the moves; a name given twice
  // would clash with the first move. A "%d" template is numbered by the kernel.
  const taken = new Map<string, string>([['lo', 'the loopback interface']]);
  for (const [host, dev] of Object.entries(devs)) {
    const ptr = pointer('linux', 'netDevices', host);
    checkIfName(host, ptr);
    if (host.includes('%')) fail(ptr, `${JSON.stringify(host)} is not a valid network interface name`);
    if (host === 'lo') fail(ptr, 'the loopback interface cannot be moved to another network namespace');
    if (dev.name !== undefined) checkIfName(dev.name, `${ptr}/name`);
    const inside = dev.name ?? host;
    const namePtr = dev.name === undefined ? ptr : `${ptr}/name`;
    if (taken.has(inside)) fail(namePtr, `"${inside}" would clash with ${taken.get(inside)} in the container's network namespace`);
    if (!inside.includes('%d')) taken.set(inside, `the interface moved from ${JSON.stringify(host)}`);
  }
}

function checkIfName(name: string, ptr: string): void {
  // The kernel takes one "%d" as a numbering template (dev_alloc_name), no other "%".
  const percents = name.match(/%/g)?.length ?? 0;
  if (name === '' || name === '.' || name === '..' || name.length > MAX_IFNAME || /[/\s:]/.test(name) || percents > (name.includes('%d') ? 1 : 0)) {
    fail(ptr, `${JSON.stringify(name)} is not a valid network interface name`);
  }
}

function checkResources(r: LinuxResources): void {
  r.devices?.forEach((d, i) => {
    const ptr = pointer('linux', 'resources', 'devices', i);
    if (d.type !== undefined && !['a', 'c', 'b'].includes(d.type)) {
      fail(`${ptr}/type`, 'must be one of "a", "c", "b"');
    }
    if (d.access !== undefined && !/^[rwm]*$/.test(d.access)) {
      fail(`${ptr}/access`, 'must be a combination of "r", "w" and "m"');
    }
  });
  const swappiness = r.memory?.swappiness;
  if (swappiness !== undefined && swappiness > 100) {
    fail('/linux/resources/memory/swappiness', 'must be between 0 and 100');
  }
  const cpu = r.cpu;
  if (cpu?.burst !== undefined && cpu.quota !== undefined && cpu.quota > 0 && cpu.burst > cpu.quota) {
    fail('/linux/resources/cpu/burst', `must not be larger than quota (${cpu.quota})`);
  }
  r.blockIO?.weightDevice?.forEach((w, i) => {
    if (w.weight === undefined && w.leafWeight === undefined) {
      fail(pointer('linux', 'resources', 'blockIO', 'weightDevice', i), 'must have weight or leafWeight');
    }
  });
  for (const key of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const) {
    r.blockIO?.[key]?.forEach((t, i) => requireProperty(t, 'rate', pointer('linux', 'resources', 'blockIO', key, i)));
  }
  for (const [dev, limits] of Object.entries(r.rdma ?? {})) {
    if (limits.hcaHandles === undefined && limits.hcaObjects === undefined) {
      fail(pointer('linux', 'resources', 'rdma', dev), 'must have hcaHandles or hcaObjects');
    }
  }
  requireNonEmptyKeys(r.unified, '/linux/resources/unified');
}

function checkSeccomp(s: LinuxSeccomp): void {
  // "This field MUST NOT be set if listenerPath is not set."
  if (s.listenerMetadata !== undefined && s.listenerPath === undefined) {
    fail('/linux/seccomp', "listenerMetadata needs property 'listenerPath'");
  }
  // "When the action doesn't support an errno, the runtime MUST print an error and fail."
  if (s.defaultErrnoRet !== undefined && !ERRNO_ACTIONS.includes(s.defaultAction)) {
    fail('/linux/seccomp/defaultErrnoRet', `is not allowed with defaultAction "${s.defaultAction}"`);
  }
  s.syscalls?.forEach((sc, i) => {
    const ptr = pointer('linux', 'seccomp', 'syscalls', i);
    if (sc.errnoRet !== undefined && !ERRNO_ACTIONS.includes(sc.action)) {
      fail(`${ptr}/errnoRet`, `is not allowed with action "${sc.action}"`);
    }
    sc.args?.forEach((a, j) => {
      if (a.index >= MAX_SYSCALL_ARGS) fail(`${ptr}/args/${j}/index`, `must be less than ${MAX_SYSCALL_ARGS}`);
    });
  });
}

function checkIntelRdt(rdt: LinuxIntelRdt): void {
  // Each element is one line of the resctrl schemata file.
  rdt.schemata?.forEach((line, i) => {
    if (line.includes('\n')) fail(pointer('linux', 'intelRdt', 'schemata', i), 'must not contain a newline');
  });
  for (const key of ['l3CacheSchema', 'memBwSchema'] as const) {
    if (rdt[key]?.includes('\n')) fail(`/linux/intelRdt/${key}`, 'must not contain a newline');
  }
  // "The value MUST start with `MB:`."
  if (rdt.memBwSchema && !rdt.memBwSchema.startsWith('MB:')) fail('/linux/intelRdt/memBwSchema', 'must start with "MB:"');
}

function checkMemoryPolicy(mp: LinuxMemoryPolicy): void {
  requireProperty(mp, 'mode', '/linux/memoryPolicy');
  let nodes: number[];
  try {
    nodes = parseNodeList(mp.nodes ?? '');
  } catch (err) {
    fail('/linux/memoryPolicy/nodes', (err as Error).message);
  }
  if (MODES_WITHOUT_NODES.includes(mp.mode) && nodes.length > 0) {
    fail('/linux/memoryPolicy/nodes', `must be empty for mode "${mp.mode}"`);
  }
  if (MODES_WITH_NODES.includes(mp.mode) && nodes.length === 0) {
    fail('/linux/memoryPolicy', `must have required property 'nodes' for mode "${mp.mode}"`);
  }
  // The kernel would take the first node and drop the rest without a word.
  if (mp.mode === 'MPOL_PREFERRED' && nodes.length > 1) {
    fail('/linux/memoryPolicy/nodes', 'MPOL_PREFERRED takes one node (MPOL_PREFERRED_MANY takes several)');
  }
  checkMemoryPolicyFlags(mp, nodes.length > 0);
}

/** set_mempolicy(2)'s rules for flags: what the kernel refuses (EINVAL) or would ignore. */
function checkMemoryPolicyFlags(mp: LinuxMemoryPolicy, hasNodes: boolean): void {
  const flags = mp.flags ?? [];
  if (flags.length === 0) return;
  const ptr = '/linux/memoryPolicy/flags';
  // MPOL_DEFAULT ignores flags; MPOL_LOCAL and a node-less MPOL_PREFERRED (which is local) refuse them.
  if (mp.mode === 'MPOL_DEFAULT' || mp.mode === 'MPOL_LOCAL' || (mp.mode === 'MPOL_PREFERRED' && !hasNodes)) {
    fail(ptr, `must be empty for mode "${mp.mode}"${mp.mode === 'MPOL_PREFERRED' ? ' without nodes' : ''}`);
  }
  if (flags.includes('MPOL_F_STATIC_NODES') && flags.includes('MPOL_F_RELATIVE_NODES')) {
    fail(ptr, 'MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other');
  }
  if (flags.includes('MPOL_F_NUMA_BALANCING') && !NUMA_BALANCING_MODES.includes(mp.mode)) {
    fail(ptr, `MPOL_F_NUMA_BALANCING needs mode ${NUMA_BALANCING_MODES.join(' or ')}`);
  }
}
