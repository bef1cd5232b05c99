// Differential test of tsrun's own config.json schema (schema/, compiled to
// dist/src/spec/generated/config-validator.js) against the published
// runtime-spec v1.3 schema, which is the arbiter of valid/invalid verdicts.
//
// The corpus is the full config from test/helpers plus valid variants and
// mutations (wrong types, missing required fields, bad enum values, bad
// patterns, out-of-range numbers). Each entry states the verdict we expect;
// both validators must reach it.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPublished, PUBLISHED_DIR } from '../helpers/published-schema';
import type { ValidateFunction } from 'ajv';
import { defaultSpec } from '../../src/spec/default-spec';
import { firstSchemaError, isSchemaValid } from '../../src/spec/validate';
import { fullConfig } from '../helpers/full-config';

type Verdict = 'valid' | 'invalid';
interface Case {
  name: string;
  expect: Verdict;
  config: unknown;
}

// ------------------------------------------------------------ published schema

// ------------------------------------------------------------ mutation helpers

type Json = Record<string, unknown> | unknown[];

/** Parent container and last key of a JSON pointer; the parent must exist (catches typos in the corpus). */
function locate(doc: unknown, ptr: string): [Json, string] {
  const parts = ptr.split('/').slice(1);
  const last = parts.pop();
  if (last === undefined) throw new Error(`empty pointer ${ptr}`);
  let cur: unknown = doc;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object' || !(p in (cur as object))) throw new Error(`corpus: ${ptr}: no ${p}`);
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === null || typeof cur !== 'object') throw new Error(`corpus: ${ptr}: parent is not a container`);
  return [cur as Json, last];
}

function set(ptr: string, value: unknown): (c: unknown) => void {
  return (c) => {
    const [parent, key] = locate(c, ptr);
    (parent as Record<string, unknown>)[key] = value;
  };
}

function del(ptr: string): (c: unknown) => void {
  return (c) => {
    const [parent, key] = locate(c, ptr);
    if (!(key in parent)) throw new Error(`corpus: ${ptr}: nothing to delete`);
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  };
}

function variant(name: string, expect: Verdict, ...edits: Array<(c: unknown) => void>): Case {
  const config: unknown = fullConfig();
  for (const e of edits) e(config);
  return { name, expect, config };
}

const valid = (name: string, ...edits: Array<(c: unknown) => void>): Case => variant(name, 'valid', ...edits);
const invalid = (name: string, ...edits: Array<(c: unknown) => void>): Case => variant(name, 'invalid', ...edits);

// ------------------------------------------------------------ corpus

function corpus(): Case[] {
  const whole = (name: string, expect: Verdict, config: unknown): Case => ({ name, expect, config });
  return [
    // ---- valid documents and variants
    valid('full config'),
    whole('minimal: ociVersion only', 'valid', { ociVersion: '1.3.0' }),
    whole('defaultSpec()', 'valid', defaultSpec()),
    whole('defaultSpec({rootless})', 'valid', defaultSpec({ rootless: true, uid: 1000, gid: 1000 })),
    valid('no linux section', del('/linux')),
    valid('no process', del('/process')),
    valid('process without user (Windows-shaped, schema allows)', del('/process/user')),
    valid('user without uid/gid', del('/process/user/uid'), del('/process/user/gid')),
    valid('unknown top-level property', set('/x-vendor', { anything: [1, 2] })),
    valid('unknown nested property', set('/linux/resources/x-future', true), set('/process/user/x', 1)),
    valid('empty arrays everywhere', set('/mounts', []), set('/hooks/prestart', []), set('/linux/namespaces', []),
      set('/linux/uidMappings', []), set('/linux/gidMappings', []), del('/linux/timeOffsets'), del('/linux/netDevices')),
    valid('empty annotations', set('/annotations', {})),
    valid('pids limit -1 (unlimited)', set('/linux/resources/pids/limit', -1)),
    valid('memory limit -1', set('/linux/resources/memory/limit', -1)),
    valid('cpu quota -1', set('/linux/resources/cpu/quota', -1)),
    valid('rlimit RLIMIT_AS', set('/process/rlimits/1/type', 'RLIMIT_AS')),
    valid('hook with path only', set('/hooks/poststart/0', { path: '/bin/true' })),
    valid('mount with destination only', set('/mounts/0', { destination: '/x' })),
    valid('seccomp with defaultAction only', set('/linux/seccomp', { defaultAction: 'SCMP_ACT_ALLOW' })),
    valid('fifo device without major/minor', set('/linux/devices/0', { type: 'p', path: '/dev/p' })),
    valid('char device without major (schema allows; semantic check refuses)', del('/linux/devices/0/major')),
    valid('fileMode 511', set('/linux/devices/0/fileMode', 511)),
    valid('uid at uint32 max', set('/process/user/uid', 4294967295)),
    valid('negative major in cgroup rule', set('/linux/resources/devices/1/major', -1)),
    valid('empty execCPUAffinity', set('/process/execCPUAffinity', { initial: '', final: '' })),
    valid('hugepage 64KB', set('/linux/resources/hugepageLimits/0/pageSize', '64KB')),
    valid('rdma entry without limits (schema allows)', set('/linux/resources/rdma/mlx5_1', {})),
    valid('unknown timeOffsets clock (schema allows)', set('/linux/timeOffsets/realtime', { secs: 'x' })),
    valid('ioPriority without priority (schema allows)', del('/process/ioPriority/priority')),
    valid('personality without domain (schema allows)', set('/linux/personality', {})),
    valid('memoryPolicy without mode (schema allows)', set('/linux/memoryPolicy', { nodes: '0' })),
    valid('throttle without rate (schema allows)', del('/linux/resources/blockIO/throttleReadBpsDevice/0/rate')),
    valid('cgroup rule type "x" (schema allows)', set('/linux/resources/devices/1/type', 'x')),
    valid('netDevices entry {}', set('/linux/netDevices/eth1', {})),
    valid('consoleSize 0x0', set('/process/consoleSize', { height: 0, width: 0 })),
    valid('memBwSchema "MB:"', set('/linux/intelRdt/memBwSchema', 'MB:')),
    valid('ociVersion not SemVer (schema allows; semantic check refuses)', set('/ociVersion', 'banana')),
    valid('relative mount destination (schema allows)', set('/mounts/0/destination', 'proc')),
    valid('empty args (schema allows)', set('/process/args', [])),
    valid('nanosecs at uint32 max', set('/linux/timeOffsets/monotonic/nanosecs', 4294967295)),
    valid('int64 minimum time offset', set('/linux/timeOffsets/monotonic/secs', -9223372036854775808)),
    valid('swappiness 200 (uint64; semantic check refuses)', set('/linux/resources/memory/swappiness', 200)),
    valid('oomScoreAdj -1000', set('/process/oomScoreAdj', -1000)),

    // ---- not an object
    whole('config is an array', 'invalid', [fullConfig()]),
    whole('config is a string', 'invalid', '{"ociVersion":"1.3.0"}'),
    whole('config is null', 'invalid', null),

    // ---- top level
    invalid('missing ociVersion', del('/ociVersion')),
    invalid('ociVersion is a number', set('/ociVersion', 1.3)),
    invalid('hostname is a number', set('/hostname', 42)),
    invalid('domainname is an array', set('/domainname', ['a'])),
    invalid('annotations value is a number', set('/annotations/com.example.key', 1)),
    invalid('annotations is an array', set('/annotations', ['a=b'])),

    // ---- root
    invalid('root without path', del('/root/path')),
    invalid('root.path is a number', set('/root/path', 7)),
    invalid('root.readonly is a string', set('/root/readonly', 'true')),
    invalid('root is a string', set('/root', 'rootfs')),

    // ---- mounts
    invalid('mounts is an object', set('/mounts', { destination: '/x' })),
    invalid('mount without destination', del('/mounts/1/destination')),
    invalid('mount destination is a number', set('/mounts/1/destination', 1)),
    invalid('mount options is a string', set('/mounts/1/options', 'nosuid,nodev')),
    invalid('mount option is a number', set('/mounts/1/options/0', 0)),
    invalid('mount source is null', set('/mounts/1/source', null)),
    invalid('mount type is a bool', set('/mounts/1/type', true)),
    invalid('mount uidMapping without size', del('/mounts/2/uidMappings/0/size')),
    invalid('mount gidMapping hostID negative', set('/mounts/2/gidMappings/0/hostID', -1)),

    // ---- process
    invalid('process is a string', set('/process', 'sh')),
    invalid('process without cwd', del('/process/cwd')),
    invalid('cwd is a number', set('/process/cwd', 0)),
    invalid('args is a string', set('/process/args', 'sh -c true')),
    invalid('args item is a number', set('/process/args/1', 1)),
    invalid('env item is an object', set('/process/env/0', { PATH: '/bin' })),
    invalid('terminal is a string', set('/process/terminal', 'yes')),
    invalid('consoleSize without width', del('/process/consoleSize/width')),
    invalid('consoleSize height negative', set('/process/consoleSize/height', -1)),
    invalid('commandLine is an array', set('/process/commandLine', ['sh'])),
    invalid('user is a string', set('/process/user', 'root')),
    invalid('uid negative', set('/process/user/uid', -1)),
    invalid('uid is a string', set('/process/user/uid', '0')),
    invalid('gid above uint32', set('/process/user/gid', 4294967296)),
    invalid('uid is a float', set('/process/user/uid', 1.5)),
    invalid('umask negative', set('/process/user/umask', -18)),
    invalid('additionalGids item is a string', set('/process/user/additionalGids/0', 'wheel')),
    invalid('username is a number', set('/process/user/username', 0)),
    invalid('capabilities.bounding is a string', set('/process/capabilities/bounding', 'CAP_KILL')),
    invalid('capabilities.ambient item is a number', set('/process/capabilities/ambient/0', 5)),
    invalid('rlimits is an object', set('/process/rlimits', { RLIMIT_NOFILE: 1024 })),
    invalid('rlimit without soft', del('/process/rlimits/0/soft')),
    invalid('rlimit without type', del('/process/rlimits/0/type')),
    invalid('rlimit type without RLIMIT_ prefix', set('/process/rlimits/0/type', 'NOFILE')),
    invalid('rlimit type lowercase', set('/process/rlimits/0/type', 'rlimit_nofile')),
    invalid('rlimit hard negative', set('/process/rlimits/0/hard', -1)),
    invalid('noNewPrivileges is a string', set('/process/noNewPrivileges', 'true')),
    invalid('oomScoreAdj is a float', set('/process/oomScoreAdj', 1.5)),
    invalid('apparmorProfile is a number', set('/process/apparmorProfile', 1)),
    invalid('selinuxLabel is a bool', set('/process/selinuxLabel', false)),
    invalid('ioPriority class unknown', set('/process/ioPriority/class', 'IOPRIO_CLASS_NONE')),
    invalid('ioPriority without class', del('/process/ioPriority/class')),
    invalid('ioPriority priority is a string', set('/process/ioPriority/priority', '4')),
    invalid('scheduler without policy', del('/process/scheduler/policy')),
    invalid('scheduler policy unknown', set('/process/scheduler/policy', 'SCHED_FAIR')),
    invalid('scheduler flag unknown', set('/process/scheduler/flags/0', 'SCHED_FLAG_FAST')),
    invalid('scheduler nice above int32', set('/process/scheduler/nice', 2147483648)),
    invalid('scheduler runtime negative', set('/process/scheduler/runtime', -1)),
    invalid('execCPUAffinity initial has letters', set('/process/execCPUAffinity/initial', 'cpu0')),
    invalid('execCPUAffinity final is a number', set('/process/execCPUAffinity/final', 3)),

    // ---- hooks
    invalid('hooks is an array', set('/hooks', [])),
    invalid('prestart is an object', set('/hooks/prestart', { path: '/bin/true' })),
    invalid('hook without path', del('/hooks/createRuntime/0/path')),
    invalid('hook path is a number', set('/hooks/poststop/0/path', 1)),
    invalid('hook timeout 0', set('/hooks/poststart/0/timeout', 0)),
    invalid('hook timeout negative', set('/hooks/startContainer/0/timeout', -5)),
    invalid('hook timeout is a float', set('/hooks/createContainer/0/timeout', 1.5)),
    invalid('hook args is a string', set('/hooks/prestart/0/args', 'a b')),
    invalid('hook env item is a number', set('/hooks/poststop/0/env/0', 1)),

    // ---- linux: namespaces, mappings, time, devices
    invalid('linux is an array', set('/linux', [])),
    invalid('namespaces is an object', set('/linux/namespaces', { pid: {} })),
    invalid('namespace type unknown', set('/linux/namespaces/0/type', 'process')),
    invalid('namespace type uppercase', set('/linux/namespaces/0/type', 'PID')),
    invalid('namespace without type', del('/linux/namespaces/2/type')),
    invalid('namespace path is a number', set('/linux/namespaces/1/path', 3)),
    invalid('uidMappings is an object', set('/linux/uidMappings', { containerID: 0, hostID: 0, size: 1 })),
    invalid('uidMapping size is a float', set('/linux/uidMappings/0/size', 1.5)),
    invalid('uidMapping containerID above uint32', set('/linux/uidMappings/0/containerID', 4294967296)),
    invalid('gidMapping hostID is a string', set('/linux/gidMappings/0/hostID', '100000')),
    invalid('gidMapping without containerID', del('/linux/gidMappings/0/containerID')),
    invalid('timeOffsets monotonic secs is a string', set('/linux/timeOffsets/monotonic/secs', '10')),
    invalid('timeOffsets boottime nanosecs negative', set('/linux/timeOffsets/boottime/nanosecs', -1)),
    invalid('timeOffsets is an array', set('/linux/timeOffsets', [])),
    invalid('device type unknown', set('/linux/devices/0/type', 'x')),
    invalid('device type two letters', set('/linux/devices/0/type', 'cb')),
    invalid('device without path', del('/linux/devices/1/path')),
    invalid('device without type', del('/linux/devices/1/type')),
    invalid('device fileMode negative', set('/linux/devices/0/fileMode', -1)),
    invalid('device major is a string', set('/linux/devices/0/major', '10')),
    invalid('device uid negative', set('/linux/devices/0/uid', -1)),
    invalid('netDevices is an array', set('/linux/netDevices', ['eth0'])),
    invalid('netDevice name is a number', set('/linux/netDevices/eth1/name', 1)),
    invalid('cgroupsPath is a number', set('/linux/cgroupsPath', 1)),

    // ---- linux.resources
    invalid('resources is an array', set('/linux/resources', [])),
    invalid('cgroup rule without allow', del('/linux/resources/devices/0/allow')),
    invalid('cgroup rule allow is a string', set('/linux/resources/devices/0/allow', 'false')),
    invalid('cgroup rule access is an array', set('/linux/resources/devices/0/access', ['r'])),
    invalid('memory limit is a string', set('/linux/resources/memory/limit', '512M')),
    invalid('memory swappiness negative', set('/linux/resources/memory/swappiness', -1)),
    invalid('memory disableOOMKiller is a string', set('/linux/resources/memory/disableOOMKiller', 'true')),
    invalid('cpu shares negative', set('/linux/resources/cpu/shares', -2)),
    invalid('cpu quota is a float', set('/linux/resources/cpu/quota', 0.5)),
    invalid('cpu cpus is a number', set('/linux/resources/cpu/cpus', 3)),
    invalid('cpu burst negative', set('/linux/resources/cpu/burst', -1)),
    invalid('pids without limit', set('/linux/resources/pids', {})),
    invalid('pids limit is a string', set('/linux/resources/pids/limit', 'max')),
    invalid('blockIO weight above uint16', set('/linux/resources/blockIO/weight', 65536)),
    invalid('blockIO leafWeight negative', set('/linux/resources/blockIO/leafWeight', -1)),
    invalid('weightDevice without major', del('/linux/resources/blockIO/weightDevice/0/major')),
    invalid('weightDevice weight above uint16', set('/linux/resources/blockIO/weightDevice/1/weight', 70000)),
    invalid('throttle without minor', del('/linux/resources/blockIO/throttleWriteIOPSDevice/0/minor')),
    invalid('throttle rate negative', set('/linux/resources/blockIO/throttleReadBpsDevice/0/rate', -1)),
    invalid('hugepage pageSize without B', set('/linux/resources/hugepageLimits/0/pageSize', '2M')),
    invalid('hugepage pageSize leading zero', set('/linux/resources/hugepageLimits/0/pageSize', '02MB')),
    invalid('hugepage pageSize in TB', set('/linux/resources/hugepageLimits/0/pageSize', '1TB')),
    invalid('hugepage without limit', del('/linux/resources/hugepageLimits/1/limit')),
    invalid('network classID negative', set('/linux/resources/network/classID', -1)),
    invalid('network priority without name', del('/linux/resources/network/priorities/0/name')),
    invalid('network priority is a string', set('/linux/resources/network/priorities/1/priority', 'high')),
    invalid('rdma hcaHandles negative', set('/linux/resources/rdma/mlx5_1/hcaHandles', -1)),
    invalid('rdma entry is a number', set('/linux/resources/rdma/rxe3', 5)),
    invalid('unified value is a number', set('/linux/resources/unified/memory.high', 400000000)),

    // ---- linux: seccomp
    invalid('seccomp without defaultAction', del('/linux/seccomp/defaultAction')),
    invalid('seccomp defaultAction unknown', set('/linux/seccomp/defaultAction', 'SCMP_ACT_DENY')),
    invalid('seccomp defaultErrnoRet negative', set('/linux/seccomp/defaultErrnoRet', -1)),
    invalid('seccomp architecture unknown', set('/linux/seccomp/architectures/0', 'SCMP_ARCH_AMD64')),
    invalid('seccomp flag unknown', set('/linux/seccomp/flags/0', 'SECCOMP_FILTER_FLAG_NEW_LISTENER')),
    invalid('seccomp listenerPath is a number', set('/linux/seccomp/listenerPath', 1)),
    invalid('seccomp syscalls is an object', set('/linux/seccomp/syscalls', { read: 'SCMP_ACT_ALLOW' })),
    invalid('syscall names empty', set('/linux/seccomp/syscalls/0/names', [])),
    invalid('syscall without names', del('/linux/seccomp/syscalls/0/names')),
    invalid('syscall without action', del('/linux/seccomp/syscalls/0/action')),
    invalid('syscall action unknown', set('/linux/seccomp/syscalls/0/action', 'ALLOW')),
    invalid('syscall errnoRet is a string', set('/linux/seccomp/syscalls/2/errnoRet', 'ENOSYS')),
    invalid('syscall arg without op', del('/linux/seccomp/syscalls/1/args/0/op')),
    invalid('syscall arg op unknown', set('/linux/seccomp/syscalls/1/args/0/op', 'SCMP_CMP_IN')),
    invalid('syscall arg without value', del('/linux/seccomp/syscalls/1/args/1/value')),
    invalid('syscall arg index negative', set('/linux/seccomp/syscalls/1/args/0/index', -1)),
    invalid('syscall arg valueTwo negative', set('/linux/seccomp/syscalls/1/args/1/valueTwo', -8)),

    // ---- linux: the rest
    invalid('rootfsPropagation rprivate', set('/linux/rootfsPropagation', 'rprivate')),
    invalid('rootfsPropagation empty', set('/linux/rootfsPropagation', '')),
    invalid('maskedPaths is a string', set('/linux/maskedPaths', '/proc/kcore')),
    invalid('readonlyPaths item is a number', set('/linux/readonlyPaths/0', 1)),
    invalid('mountLabel is a number', set('/linux/mountLabel', 0)),
    invalid('sysctl value is a number', set('/linux/sysctl/net.ipv4.ip_forward', 1)),
    invalid('personality domain unknown', set('/linux/personality/domain', 'LINUX64')),
    invalid('personality flags is a string', set('/linux/personality/flags', 'ADDR_NO_RANDOMIZE')),
    invalid('intelRdt memBwSchema without MB:', set('/linux/intelRdt/memBwSchema', 'L3:0=20')),
    invalid('intelRdt memBwSchema with newline', set('/linux/intelRdt/memBwSchema', 'MB:0=20\nMB:1=70')),
    invalid('intelRdt schemata is a string', set('/linux/intelRdt/schemata', 'L3:0=f')),
    invalid('intelRdt enableMonitoring is a string', set('/linux/intelRdt/enableMonitoring', 'yes')),
    invalid('intelRdt closID is a number', set('/linux/intelRdt/closID', 1)),
    invalid('memoryPolicy mode unknown', set('/linux/memoryPolicy/mode', 'MPOL_ANY')),
    invalid('memoryPolicy flag unknown', set('/linux/memoryPolicy/flags/0', 'MPOL_F_NONE')),
    invalid('memoryPolicy nodes is a number', set('/linux/memoryPolicy/nodes', 0)),
  ];
}

// ------------------------------------------------------------ tests

describe('schema corpus: tsrun schema vs published runtime-spec schema', function () {
  let published: ValidateFunction;
  const cases = corpus();

  before(function () {
    if (!fs.existsSync(PUBLISHED_DIR)) this.skip();
    published = loadPublished();
  });

  const valids = cases.filter((c) => c.expect === 'valid').length;

  it(`has at least 60 configs, at least 20 valid and 20 invalid (${cases.length}: ${valids} valid, ${cases.length - valids} invalid)`, function () {
    assert.ok(cases.length >= 60, `only ${cases.length} cases`);
    assert.ok(valids >= 20, `only ${valids} valid cases`);
    assert.ok(cases.length - valids >= 20, `only ${cases.length - valids} invalid cases`);
  });

  it('case names are unique', function () {
    const names = new Set(cases.map((c) => c.name));
    assert.equal(names.size, cases.length);
  });

  it('the published schema gives the intended verdict for every case', function () {
    const wrong = cases
      .filter((c) => (published(c.config) ? 'valid' : 'invalid') !== c.expect)
      .map((c) => `${c.name}: intended ${c.expect}, published says otherwise ${JSON.stringify(published.errors?.[0] ?? null)}`);
    assert.deepEqual(wrong, []);
  });

  it("tsrun's generated validator agrees with the published schema on every case", function () {
    const disagreements: string[] = [];
    for (const c of cases) {
      const theirs: Verdict = published(c.config) ? 'valid' : 'invalid';
      const ours: Verdict = isSchemaValid(c.config) ? 'valid' : 'invalid';
      if (ours !== theirs) {
        const why = ours === 'invalid' ? JSON.stringify(firstSchemaError(c.config)) : JSON.stringify(published.errors?.[0]);
        disagreements.push(`${c.name}: published ${theirs}, tsrun ${ours} (${why})`);
      }
    }
    assert.deepEqual(disagreements, []);
  });
});

// Where the prose is stricter than the published schema and tsrun's schema
// follows the prose, the corpus above cannot hold the case (the published
// verdict is the arbiter there). They are listed here so that the divergence
// is deliberate and visible.
describe('schema corpus: documented divergences from the published schema', function () {
  let published: ValidateFunction;

  before(function () {
    if (!fs.existsSync(PUBLISHED_DIR)) this.skip();
    published = loadPublished();
  });

  it('annotation value under an empty key: published ignores the key, tsrun requires a string', function () {
    // config.md: "Values MUST be strings" (and keys MUST NOT be empty, which
    // semantic.ts reports). The published map only checks keys matching ".{1,}".
    const c = { ociVersion: '1.3.0', annotations: { '': 5 } };
    assert.equal(published(c), true);
    assert.equal(isSchemaValid(c), false);
  });

  it('device fileMode with file-type bits: published refuses (max 511), tsrun accepts it as runc and crun do', function () {
    // podman passes the device's whole st_mode: 8630 is S_IFCHR|0666.
    const c = { ociVersion: '1.3.0', linux: { devices: [{ type: 'c', path: '/dev/mynull', major: 1, minor: 3, fileMode: 8630 }] } };
    assert.equal(published(c), false);
    assert.equal(isSchemaValid(c), true);
    assert.equal(isSchemaValid({ ...c, linux: { devices: [{ ...c.linux.devices[0], fileMode: 4294967296 }] } }), false);
  });
});
