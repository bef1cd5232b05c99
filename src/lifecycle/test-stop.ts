// TEST HOOK, not a feature: fault injection for the killed-create tests
// (test/integration/lifecycle-killed-create.test.ts). With
// TSRUN_TEST_STOP_AT=<point> in its environment, `create` stops itself with
// SIGSTOP at that point, so that a test can SIGKILL it exactly there and
// check what `delete --force` makes of what it left. Without the variable
// each call is one environment lookup.

/** Where create may stop, in the order it passes them. */
export const STOP_POINTS = ['before-lock', 'locked', 'claimed', 'stage1-forked', 'init-forked', 'init-ready', 'written'] as const;
export type StopPoint = (typeof STOP_POINTS)[number];

/** Read at each call, not at load: a startup snapshot would otherwise freeze the build's environment. */
export function stopHereForTest(point: StopPoint): void {
  if (process.env.TSRUN_TEST_STOP_AT === point) process.kill(process.pid, 'SIGSTOP');
}
