// The data `tsrun network` passes between its parts: a CNI network
// configuration list, what one container's attachment is, and the result
// the plugins return (CNI spec 1.0: SPEC.md "Network configuration lists",
// "Result types").

/** A CNI network configuration list (a .conflist). */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConfig[];
}

/** One plugin's configuration in a list; `type` names its executable. */
export interface PluginConfig {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A host port forwarded to a container port (the portmap plugin's "portMappings" capability). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostIP?: string;
}

/** One container on one network: what the plugins are told besides the configuration. */
export interface Attachment {
  /** CNI_CONTAINERID: the container's id. */
  containerId: string;
  /** CNI_NETNS: a path to the container's network namespace; "" once it is gone (DEL after the container died). */
  netns: string;
  /** CNI_IFNAME, e.g. eth0. */
  ifName: string;
  portMappings: PortMapping[];
}

/** A CNI 1.0 success result (what ADD prints). */
export interface CniResult {
  cniVersion: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}
