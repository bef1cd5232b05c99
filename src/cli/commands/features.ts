import { print } from '../output';
import type { CommandSpec } from '../command';

export const featuresCommand: CommandSpec = {
  name: 'features',
  usesState: false,
  positional: '',
  describe: 'print the runtime-spec features JSON of this runtime',
  arity: [0, 0],
  options: {},
  async run() {
    const { runtimeFeatures } = await import('../../lifecycle/features');
    print(JSON.stringify(runtimeFeatures(), null, 2) + '\n');
  },
};
