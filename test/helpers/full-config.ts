// A config.json that sets nearly every field runtime-spec v1.3 defines for
// Linux, valid for the schema and for tsrun's semantic checks (given a bundle
// with a `rootfs` directory). Tests mutate copies of it, so every call returns
// a fresh object.

import type { Spec } from '../../src/spec/types';

export function fullConfig(): Spec {
  const hook = (name: string) => ({
    path: `/usr/libexec/hooks/${name}`,
    args: [name, '--verbose'],
    env: ['HOOK=1'],
    timeout: 5,
  });
  return {
    ociVersion: '1.3.0',
    root: { path: 'rootfs', readonly: true },
    hostname: 'full',
    domainname: 'example.test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/data',
        type: 'none',
        source: '/srv/data',
        options: ['rbind', 'rw', 'idmap'],
        uidMappings: [{ containerID: 0, hostID: 200000, size: 65536 }],
        gidMappings: [{ containerID: 0, hostID: 200000, size: 65536 }],
      },
    ],
    process: {
      terminal: true,
      consoleSize: { height: 25, width: 80 },
      cwd: '/root',
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      args: ['sh', '-c', 'echo hello'],
      commandLine: 'sh -c "echo hello"',
      user: { uid: 1000, gid: 1000, umask: 18, additionalGids: [5, 6], username: 'someone' },
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL'],
        inheritable: ['CAP_KILL'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        ambient: ['CAP_NET_BIND_SERVICE'],
      },
      rlimits: [
        { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
        { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
      ],
      noNewPrivileges: true,
      apparmorProfile: 'tsrun-default',
      oomScoreAdj: -500,
      selinuxLabel: 'system_u:system_r:container_t:s0:c1,c2',
      ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
      scheduler: {
        policy: 'SCHED_DEADLINE',
        nice: -5,
        priority: 0,
        flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_RECLAIM'],
        runtime: 10000000,
        deadline: 20000000,
        period: 30000000,
      },
      execCPUAffinity: { initial: '7', final: '0-3,7' },
    },
    hooks: {
      prestart: [hook('prestart')],
      createRuntime: [hook('create-runtime')],
      createContainer: [hook('create-container')],
      startContainer: [hook('start-container')],
      poststart: [hook('poststart')],
      poststop: [hook('poststop'), { path: '/bin/true' }],
    },
    annotations: { 'com.example.key': 'value', 'org.opencontainers.image.os': 'linux', 'com.example.empty': '' },
    linux: {
      namespaces: [
        { type: 'pid' },
        // New, not joined: linux.netDevices below needs a network namespace of its own.
        { type: 'network' },
        { type: 'mount' },
        { type: 'ipc', path: '/var/run/ipcns/full' },
        { type: 'uts' },
        { type: 'user' },
        { type: 'cgroup' },
        { type: 'time' },
      ],
      uidMappings: [
        { containerID: 0, hostID: 100000, size: 1000 },
        { containerID: 1000, hostID: 1000, size: 1 },
      ],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      timeOffsets: {
        monotonic: { secs: 86400, nanosecs: 500 },
        boottime: { secs: -10, nanosecs: 0 },
      },
      devices: [
        { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
        { type: 'b', path: '/dev/sda', major: 8, minor: 0, fileMode: 432 },
        { type: 'p', path: '/run/fifo' },
      ],
      netDevices: { eth1: { name: 'ctr1' }, dummy0: {} },
      cgroupsPath: '/tsrun/full',
      resources: {
        devices: [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
          { allow: true, type: 'b', major: 8, access: 'r' },
        ],
        memory: {
          limit: 536870912,
          reservation: 268435456,
          swap: 1073741824,
          kernel: -1,
          kernelTCP: -1,
          swappiness: 60,
          disableOOMKiller: false,
          useHierarchy: true,
          checkBeforeUpdate: true,
        },
        cpu: {
          shares: 1024,
          quota: 100000,
          burst: 50000,
          period: 100000,
          realtimeRuntime: 950000,
          realtimePeriod: 1000000,
          cpus: '0-3',
          mems: '0',
          idle: 0,
        },
        pids: { limit: 128 },
        blockIO: {
          weight: 500,
          leafWeight: 300,
          weightDevice: [
            { major: 8, minor: 0, weight: 500, leafWeight: 300 },
            { major: 8, minor: 16, weight: 100 },
          ],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
          throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 524288 }],
          throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 1000 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 500 }],
        },
        hugepageLimits: [
          { pageSize: '2MB', limit: 209715200 },
          { pageSize: '1GB', limit: 0 },
        ],
        network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }, { name: 'lo', priority: 1 }] },
        rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, rxe3: { hcaObjects: 100 } },
        unified: { 'memory.high': '400000000', 'io.max': '8:0 rbps=2097152' },
      },
      rootfsPropagation: 'slave',
      seccomp: {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
        listenerPath: '/run/seccomp-agent.sock',
        listenerMetadata: 'full-config',
        syscalls: [
          { names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
          {
            names: ['personality'],
            action: 'SCMP_ACT_ALLOW',
            args: [
              { index: 0, value: 0, op: 'SCMP_CMP_EQ' },
              { index: 1, value: 255, valueTwo: 8, op: 'SCMP_CMP_MASKED_EQ' },
            ],
          },
          { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
          { names: ['ptrace'], action: 'SCMP_ACT_NOTIFY' },
        ],
      },
      maskedPaths: ['/proc/kcore', '/sys/firmware'],
      readonlyPaths: ['/proc/sys', '/proc/sysrq-trigger'],
      mountLabel: 'system_u:object_r:container_file_t:s0:c1,c2',
      sysctl: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '4294967296' },
      personality: { domain: 'LINUX', flags: [] },
      intelRdt: {
        closID: 'guaranteed',
        l3CacheSchema: 'L3:0=7f0;1=1f',
        memBwSchema: 'MB:0=20;1=70',
        schemata: ['L2:0=f;1=f'],
        enableMonitoring: true,
      },
      memoryPolicy: { mode: 'MPOL_BIND', nodes: '0-1', flags: ['MPOL_F_STATIC_NODES'] },
    },
  };
}
