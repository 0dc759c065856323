// Fault injection for rollback tests: SRIOV_FAULT=<step> fails ADD at that step, only with SRIOV_TEST_FAULTS=1.
export function faultPoint(step: string): void {
  if (process.env.SRIOV_TEST_FAULTS === '1' && process.env.SRIOV_FAULT === step) {
    throw new Error(`injected fault at ADD step "${step}"`)
  }
}
