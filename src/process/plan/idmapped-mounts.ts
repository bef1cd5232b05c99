// Which mounts get an id mapping (runtime-spec 1.3 config.md: the `idmap`
// and `ridmap` options, a mount's uidMappings/gidMappings), and from which
// user namespace. Pure: the parent makes the mounts from this plan
// (create/idmapped-mounts.ts), so the decisions are unit-tested directly.
import { isAbsolute, resolve } from 'node:path';
import type { LinuxIDMapping, Mount, Spec } from '../../spec/types';
import { configError } from '../../errors';

/** The user namespace whose mappings the mount takes. */
export type IdmapSource =
  | { kind: 'mappings'; uidMappings: LinuxIDMapping[]; gidMappings: LinuxIDMapping[] }
  /** The container joins this user namespace (by path): its mappings are the container's. */
  | { kind: 'namespace'; path: string };

export interface IdmappedMountPlan {
  /** Index in config.json's mounts. */
  index: number;
  /** Absolute host path of the bind source. */
  source: string;
  /** rbind: the detached copy holds the submounts too. */
  recursiveTree: boolean;
  /** ridmap: every mount of the copy is idmapped, not only its top. */
  recursiveIdmap: boolean;
  userns: IdmapSource;
}

/**
 * The idmap option in force: 'idmap', 'ridmap' (the last named wins, as for
 * other options), 'mappings' when the mount has mappings but neither option
 * (runc then maps non-recursively, and so does tsrun: the spec's SHOULD on
 * the options exists so that older runtimes do not ignore the mappings), or
 * undefined for a mount without an id mapping.
 */
export function idmapKind(m: Mount): 'idmap' | 'ridmap' | 'mappings' | undefined {
  const named = (m.options ?? []).filter((o) => o === 'idmap' || o === 'ridmap').pop() as 'idmap' | 'ridmap' | undefined;
  if (named) return named;
  return (m.uidMappings?.length ?? 0) > 0 || (m.gidMappings?.length ?? 0) > 0 ? 'mappings' : undefined;
}

/** The pointer a refusal about mount `index`'s id mapping names: its option, else its uidMappings. */
export function idmapPointer(m: Mount, index: number): string {
  const options = m.options ?? [];
  let at = -1;
  options.forEach((o, i) => (o === 'idmap' || o === 'ridmap') && (at = i));
  return at >= 0 ? `/mounts/${index}/options/${at}` : `/mounts/${index}/uidMappings`;
}

export interface IdmapPlanOptions {
  bundle: string;
  /** The runtime is not root on the host (mount_setattr then lacks CAP_SYS_ADMIN over the filesystem). */
  rootless: boolean;
}

/** One entry per idmapped mount; throws a ConfigError for one tsrun cannot make. */
export function planIdmappedMounts(spec: Spec, options: IdmapPlanOptions): IdmappedMountPlan[] {
  const planned: IdmappedMountPlan[] = [];
  (spec.mounts ?? []).forEach((m, index) => {
    const kind = idmapKind(m);
    if (kind === undefined) return;
    const ptr = idmapPointer(m, index);
    // Giving a mount an id mapping needs CAP_SYS_ADMIN in the user namespace
    // that owns its filesystem: the host's, for any host directory.
    if (options.rootless) throw configError(ptr, 'idmapped mounts need a runtime that is root on the host');
    const joinedMount = (spec.linux?.namespaces ?? []).findIndex((ns) => ns.type === 'mount' && ns.path);
    if (joinedMount >= 0) {
      // The copy is made by the runtime, in its own mount namespace: the
      // source would not be looked up where the container's mounts are.
      throw configError(ptr, `idmapped mounts are not supported with a joined mount namespace (/linux/namespaces/${joinedMount}/path)`);
    }
    const source = m.source ?? '';
    planned.push({
      index,
      source: isAbsolute(source) ? source : resolve(options.bundle, source),
      recursiveTree: (m.options ?? []).includes('rbind'),
      recursiveIdmap: kind === 'ridmap',
      userns: idmapSource(spec, m),
    });
  });
  return planned;
}

/** The mount's own mappings, else the container's (those it writes, or those of the user namespace it joins). */
function idmapSource(spec: Spec, m: Mount): IdmapSource {
  if ((m.uidMappings?.length ?? 0) > 0) return { kind: 'mappings', uidMappings: m.uidMappings ?? [], gidMappings: m.gidMappings ?? [] };
  const user = (spec.linux?.namespaces ?? []).find((ns) => ns.type === 'user');
  if (user?.path) return { kind: 'namespace', path: user.path };
  return { kind: 'mappings', uidMappings: spec.linux?.uidMappings ?? [], gidMappings: spec.linux?.gidMappings ?? [] };
}

/** The uid_map and gid_map texts of a set of mappings: equal texts can share one user namespace. */
export function mappingKey(source: IdmapSource): string {
  if (source.kind === 'namespace') return `path:${source.path}`;
  const text = (maps: LinuxIDMapping[]): string => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join(',');
  return `uid:${text(source.uidMappings)};gid:${text(source.gidMappings)}`;
}
