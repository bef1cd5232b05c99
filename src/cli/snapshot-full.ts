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
