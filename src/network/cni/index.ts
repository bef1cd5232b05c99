// tsrun's CNI runner: reading network configurations, the default network,
// and ADD/DEL of a network for one container through the CNI plugins.
export { defaultPluginDirs, type CniOptions } from './options';
export { parseNetworkConfig } from './config';
export { DEFAULT_CONFIG_DIRS, findNetwork } from './find';
export { defaultNetwork } from './default-network';
export { addNetwork, delNetwork } from './runner';
