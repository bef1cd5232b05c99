// The startup snapshot for the verbs that change containers (start, kill,
// delete, run, exec, ...): snapshot-main.ts plus their modules, evaluated
// while the snapshot is built (koffi and libc load on a C function's first
// call: linux/libc.ts). A separate snapshot because a bigger heap costs
// every verb to deserialise: state and list run ~10 % slower from this one.
import './snapshot-main';
import '../lifecycle/start';
import '../lifecycle/kill';
import '../lifecycle/delete';
import '../lifecycle/run';
import '../lifecycle/exec';
import '../lifecycle/cgroup-ops';
import '../lifecycle/signals';
import { defaultSpec } from '../spec/default-spec';
import { firstSchemaError } from '../spec/validate';

/**
 * Validates `tsrun spec`'s configs while the snapshot is built, so that the
 * schema validator (generated code, a few hundred functions) is kept
 * compiled in it rather than compiled at each create: ~4 ms of a run.
 */
function compileConfigValidation(): void {
  for (const rootless of [false, true]) firstSchemaError(defaultSpec({ rootless }));
}

compileConfigValidation();
