// The one place that asks whether a device node exists under /dev. Tests and simulated nodes point it at a
// fake tree with SRIOV_DEV_ROOT; the paths handed to kubelet (DeviceSpecs) always stay the real /dev paths.
import fs from 'node:fs'
import path from 'node:path'

/** Read from the environment at each call, like the sysfs root: the discovery worker inherits it too. */
export function devRoot(): string {
  return process.env.SRIOV_DEV_ROOT || '/'
}

/** Whether the node at the absolute path `devPath` (e.g. `/dev/vfio/noiommu-0`) exists on this node. */
export function devNodeExists(devPath: string): boolean {
  return fs.existsSync(path.join(devRoot(), devPath))
}
