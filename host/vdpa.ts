// vDPA devices from the vdpa bus: /sys/bus/vdpa/devices/vdpaN links to the device under its parent (the VF
// or PF whose management device created it), `driver` says how it is consumed (vhost_vdpa: a
// /dev/vhost-vdpa-M char device named by the vhost-vdpa-M entry in its directory; virtio_vdpa: a kernel
// virtio-net netdev).
import path = require('node:path')
import type { Sysfs } from './sysfs'

export type VdpaType = 'vhost' | 'virtio'

export interface VdpaDevice {
  name: string // vdpa0: its name on the vdpa bus
  driver?: string // vhost_vdpa, virtio_vdpa; none while unbound
  type?: VdpaType // from the driver
  path?: string // /dev/vhost-vdpa-M, for the vhost type
}

const BUS = 'bus/vdpa/devices'
const TYPES: Record<string, VdpaType> = { vhost_vdpa: 'vhost', virtio_vdpa: 'virtio' }

/** The first vDPA device of each parent device (a PCI address), as the Go plugin takes the first one. */
export function vdpaDevicesByParent(fs: Sysfs): Map<string, VdpaDevice> {
  const out = new Map<string, VdpaDevice>()
  for (const name of fs.list(BUS)) {
    const parent = fs.ancestors(path.join(BUS, name))[0]
    if (!parent || out.has(parent)) continue
    const dev: VdpaDevice = { name }
    const driver = fs.linkName(path.join(BUS, name, 'driver'))
    if (driver) {
      dev.driver = driver
      const type = TYPES[driver]
      if (type) dev.type = type
    }
    const vhost = dev.type === 'vhost' ? fs.list(path.join(BUS, name)).find((e) => /^vhost-vdpa-\d+$/.test(e)) : undefined
    if (vhost) dev.path = `/dev/${vhost}`
    out.set(parent, dev)
  }
  return out
}
