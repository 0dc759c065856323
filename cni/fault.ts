// Fault injection for rollback and crash tests (a seam: host/seams.ts): SRIOV_TEST_FAULTS=1 with
// SRIOV_FAULT=<point> makes ADD fail at that point, SRIOV_FAULT=<point>:kill kills the process there with SIGKILL
// (a runtime's timeout). Points are the step names (at the start of a step) and after-<step> (once it is done).
import { seams } from '../host/seams'

export function faultPoint(point: string): void {
  const fault = seams().fault
  if (fault?.point !== point) return
  if (fault.kill) process.kill(process.pid, 'SIGKILL')
  throw new Error(`injected fault at ADD step "${point}"`)
}
