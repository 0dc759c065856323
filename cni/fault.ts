// Fault injection for rollback and crash tests, only with SRIOV_TEST_FAULTS=1: SRIOV_FAULT=<point> makes ADD
// fail at that point, SRIOV_FAULT=<point>:kill kills the process there with SIGKILL (a runtime's timeout).
// Points are the step names (at the start of a step) and after-<step> (once it is done).
export function faultPoint(point: string): void {
  if (process.env.SRIOV_TEST_FAULTS !== '1') return
  const spec = process.env.SRIOV_FAULT
  if (spec === point) throw new Error(`injected fault at ADD step "${point}"`)
  if (spec === `${point}:kill`) process.kill(process.pid, 'SIGKILL')
}
