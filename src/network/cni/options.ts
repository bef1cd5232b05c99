// How the runner finds and runs CNI plugins. The plugin directories follow
// the CNI convention: CNI_PATH (colon-separated) when set, else where
// Debian's containernetworking-plugins puts them and the upstream default.

export interface CniOptions {
  /** Directories searched, in order, for a plugin executable named by its `type`. */
  pluginDirs: string[];
  /** CNI_ARGS as key/value pairs ("K1=V1;K2=V2" on the wire); none when absent. */
  cniArgs?: Record<string, string>;
  /** How long one plugin run may take before it is killed; 60 s when absent. */
  timeoutMs?: number;
}

export const DEFAULT_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

export function defaultPluginDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.CNI_PATH ?? '').split(':').filter((d) => d !== '');
  return fromEnv.length > 0 ? fromEnv : [...DEFAULT_PLUGIN_DIRS];
}
