// Runs the CNI runner in another process, for cni-bridge.test.ts: the test
// starts it under `nsenter --net=<the test's "host" namespace>`, so the
// plugins it runs (and the routes it reads for the default subnet) are in
// that namespace, never the machine's. One request as JSON in argv[2]; the
// answer as JSON on stdout.
import { addNetwork, defaultNetwork, defaultPluginDirs, delNetwork } from '../../src/network/cni';
import type { Attachment, CniResult } from '../../src/network/types';

export interface DriverRequest {
  op: 'add' | 'del' | 'default';
  stateDir: string;
  att?: Attachment;
  prevResult?: CniResult | null;
}

export type DriverAnswer = { file: string; subnet: string } | { result: CniResult } | { failures: string[] } | { error: string };

function answer(req: DriverRequest): DriverAnswer {
  const { list, file } = defaultNetwork(req.stateDir);
  const opts = { pluginDirs: defaultPluginDirs() };
  if (req.op === 'default') {
    const ipam = list.plugins[0].ipam as { ranges: Array<Array<{ subnet: string }>> };
    return { file, subnet: ipam.ranges[0][0].subnet };
  }
  if (req.op === 'add') return { result: addNetwork(list, req.att!, opts) };
  return { failures: delNetwork(list, req.att!, req.prevResult ?? null, opts) };
}

if (require.main === module) {
  let out: DriverAnswer;
  try {
    out = answer(JSON.parse(process.argv[2]) as DriverRequest);
  } catch (err) {
    out = { error: (err as Error).message };
  }
  process.stdout.write(JSON.stringify(out));
}
