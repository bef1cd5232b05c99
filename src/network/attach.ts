// `tsrun network add` and `del`, the two ends the hooks call: a container
// (told by the hook's state: id, pid, bundle) joins a CNI network, gets its
// /etc/hosts and /etc/resolv.conf, and leaves it again. Every failure of
// `add` undoes what it did (the plugins' DEL, the record, the files), so a
// failed create leaves no veth, lease or rule; `del` is safe to repeat.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../errors';
import { isSameLiveProcess, readProcStat } from '../linux/proc-info';
import { addNetwork, defaultNetwork, defaultPluginDirs, delNetwork, findNetwork, parseNetworkConfig } from './cni';
import { hostsFile, installEtcFiles, resolvConf } from './etc-files';
import { filesDir, readRecord, removeRecord, writeRecord, type AttachmentRecord } from './record';
import { withNetworkLock } from './network-lock';
import type { NetworkConfigList, PortMapping } from './types';

/** The runtime-spec state a hook reads on stdin (the fields used here). */
export interface HookState {
  id: string;
  pid: number;
  bundle: string;
}

export interface NetworkRequest {
  /** "bridge" (tsrun's default network), a path to a .conflist/.conf, or a network name in configDirs. */
  network: string;
  publish: PortMapping[];
  configDirs: string[];
  stateDir: string;
}

const IF_NAME = 'eth0';
/** Where Debian's resolver configuration is; a container on a bridge gets it without loopback resolvers. */
const HOST_RESOLV_CONF = '/etc/resolv.conf';

export function parseHookState(text: string): HookState {
  let state: Partial<HookState>;
  try {
    state = JSON.parse(text) as Partial<HookState>;
  } catch {
    throw new UserError('network: the container state on standard input is not JSON (tsrun network is run by the createRuntime and poststop hooks)');
  }
  if (typeof state.id !== 'string' || typeof state.bundle !== 'string' || typeof state.pid !== 'number') {
    throw new UserError('network: the container state on standard input lacks id, pid or bundle');
  }
  return state as HookState;
}

function loadList(req: NetworkRequest): { list: NetworkConfigList; file: string } {
  if (req.network === 'bridge') return defaultNetwork(req.stateDir);
  if (req.network.includes('/') || /\.(conflist|conf|json)$/.test(req.network)) {
    const file = resolve(req.network);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UserError(`network: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    return { list: parseNetworkConfig(text, file), file };
  }
  return findNetwork(req.network, req.configDirs);
}

/** The container must have a network namespace of its own: the plugins would otherwise rewire the host's. */
function containerNetns(state: HookState): string {
  const path = `/proc/${state.pid}/ns/net`;
  let own: number;
  let theirs: number;
  try {
    own = statSync('/proc/self/ns/net').ino;
    theirs = statSync(path).ino;
  } catch (err) {
    throw new UserError(`network: container ${state.id}: process ${state.pid} is gone (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  if (own === theirs) {
    throw new UserError(`network: container ${state.id} has no network namespace of its own: config.json /linux/namespaces needs {"type": "network"}`);
  }
  return path;
}

/** What the container's config says about its root and name (the hook is given only the bundle). */
function bundleFacts(bundle: string): { rootfs: string; hostname?: string } {
  const configPath = resolve(bundle, 'config.json');
  const spec = JSON.parse(readFileSync(configPath, 'utf8')) as { root?: { path?: string }; hostname?: string };
  const root = spec.root?.path ?? 'rootfs';
  return { rootfs: isAbsolute(root) ? root : resolve(bundle, root), hostname: spec.hostname || undefined };
}

/**
 * The resolver configuration the container starts from: systemd-resolved's
 * upstream list where the host's own file names only its local stub.
 */
function hostResolverText(): string {
  const text = readOrEmpty(HOST_RESOLV_CONF);
  const upstream = '/run/systemd/resolve/resolv.conf';
  return /^nameserver\s+127\.0\.0\.53\s*$/m.test(text) && existsSync(upstream) ? readOrEmpty(upstream) : text;
}

/** ADD, then the container's /etc files; the record is written first and removed again on failure. */
export function attachNetwork(state: HookState, req: NetworkRequest): AttachmentRecord {
  if ((process.geteuid?.() ?? 0) !== 0) {
    throw new UserError('network: a CNI bridge network needs root (a rootless container keeps to its loopback, or uses slirp4netns)');
  }
  const netns = containerNetns(state);
  const { list, file } = loadList(req);
  let earlier = readRecord(req.stateDir, state.id);
  // A record whose container is gone was never detached (its delete never ran): undo it first.
  if (earlier !== null && !isSameLiveProcess(earlier.pid, earlier.startTime)) {
    const failures = detachNetwork({ id: earlier.id, pid: earlier.pid, bundle: earlier.bundle }, req.stateDir);
    if (failures.length > 0) throw new UserError(`network: container ${state.id}: undoing its earlier network failed: ${failures[0]}`);
    earlier = null;
  }
  if (earlier !== null) {
    throw new UserError(`network: container ${state.id} already has a network record (${file === earlier.configFile ? earlier.network : earlier.configFile}, bundle ${earlier.bundle}): tsrun network del, or delete that container`);
  }
  const startTime = readProcStat(state.pid)?.startTime ?? 0;
  const record: AttachmentRecord = { id: state.id, bundle: state.bundle, pid: state.pid, startTime, network: list.name, configFile: file, list, ifName: IF_NAME, portMappings: req.publish, result: null };
  writeRecord(req.stateDir, record);
  const attachment = { containerId: state.id, netns, ifName: IF_NAME, portMappings: req.publish };
  const opts = { pluginDirs: defaultPluginDirs() };
  let result;
  try {
    result = withNetworkLock(req.stateDir, list.name, () => addNetwork(list, attachment, opts));
  } catch (err) {
    removeRecord(req.stateDir, state.id);
    throw err;
  }
  record.result = result;
  try {
    const facts = bundleFacts(state.bundle);
    const files = { hosts: hostsFile(facts.hostname ?? state.id, state.id, result), resolvConf: resolvConf(hostResolverText(), result) };
    // A read-only root is made so after the root switch: like the config's
    // own mount destinations, a missing /etc/hosts is made as a mount point.
    installEtcFiles(state.pid, facts.rootfs, filesDir(req.stateDir, state.id), files);
    writeRecord(req.stateDir, record);
  } catch (err) {
    withNetworkLock(req.stateDir, list.name, () => delNetwork(list, attachment, result, opts));
    removeRecord(req.stateDir, state.id);
    throw err;
  }
  return record;
}

/**
 * DEL of what `attachNetwork` made for this container; the failures, as
 * warnings. Nothing recorded (never attached, or already detached) is not
 * an error. The record stays when a plugin failed, for another try.
 */
export function detachNetwork(state: HookState, stateDir: string): string[] {
  const record = readRecord(stateDir, state.id);
  if (record === null) return [];
  if (record.bundle !== state.bundle) return [`network: the record of ${state.id} is another container's (bundle ${record.bundle}): left alone`];
  // The namespace is gone once the container's processes are (the plugins
  // then release what they hold outside it); a pid reused since is not the
  // container's, and its namespace must never be touched.
  const netns = isSameLiveProcess(record.pid, record.startTime) ? `/proc/${record.pid}/ns/net` : '';
  const attachment = { containerId: record.id, netns, ifName: record.ifName, portMappings: record.portMappings };
  const failures = withNetworkLock(stateDir, record.list.name, () => delNetwork(record.list, attachment, record.result, { pluginDirs: defaultPluginDirs() }));
  if (failures.length === 0) removeRecord(stateDir, state.id);
  return failures;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
