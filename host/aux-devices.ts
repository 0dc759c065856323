// Auxiliary network devices: sub-functions (Mellanox mlx5_core.sf.N) on the auxiliary bus. Each is seen by
// the selectors as a device of its parent PCI function (vendor, device, driver, NUMA node, PF name), with
// its own name as device ID, its sfnum as the index pfNames/rootDevices ranges select on, its own netdev
// and RDMA devices. As in the Go plugin, only auxiliary devices with an `sfnum` are network devices.
import path = require('node:path')
import { netdevLinkType, type DiscoveryOptions, type PciDevice } from './pci'
import { defaultPKey, rdmaDevicesAt } from './rdma'
import type { Sysfs } from './sysfs'

const BUS = 'bus/auxiliary/devices'
// <driver>.<type>.<id>, e.g. mlx5_core.sf.4
const AUX_NAME = /^[^.\s]+\.([^.\s]+)\.\d+$/
const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/

/** The auxiliary network devices whose parent PCI function is in `pci` (a discovery pass), by name. */
export function listAuxDevices(fs: Sysfs, pci: PciDevice[], opts: DiscoveryOptions): PciDevice[] {
  const byPci = new Map(pci.map((d) => [d.pci, d]))
  const out: PciDevice[] = []
  for (const name of fs.list(BUS)) {
    const type = AUX_NAME.exec(name)?.[1]
    const dir = path.join(BUS, name)
    // an SF nests under its PCI function, possibly below another auxiliary device
    const parent = type ? byPci.get(fs.ancestors(dir).find((a) => PCI_ADDRESS.test(a)) ?? '') : undefined
    const sfnum = parent ? fs.readInt(path.join(dir, 'sfnum')) : undefined
    if (!type || !parent || sfnum === undefined) continue
    const netdevs = fs.list(path.join(dir, 'net'))
    const dev: PciDevice = {
      pci: name, vendor: parent.vendor, device: parent.device, classCode: parent.classCode, numaNode: parent.numaNode,
      numVfs: 0, totalVfs: 0, netdevs, uioDevices: [], rdma: false, pKeys: [],
      pfPci: parent.pci, vfIndex: sfnum, aux: { type, parent: parent.pci },
    }
    if (parent.driver) dev.driver = parent.driver
    if (parent.netdevs[0]) dev.pfName = parent.netdevs[0]
    // an SF without a netdev has its PF's link type, as in the Go plugin
    const linkType = opts.linkTypes ? (netdevs[0] && netdevLinkType(fs, netdevs[0])) || parent.linkType : undefined
    if (linkType) dev.linkType = linkType
    if (opts.rdma) {
      const rdma = rdmaDevicesAt(fs, dir)
      dev.rdma = rdma.length > 0
      if (dev.rdma) dev.rdmaDevices = rdma
      const pkey = dev.linkType === 'infiniband' ? defaultPKey(fs, dir, rdma) : undefined
      if (pkey) dev.pKeys = [pkey]
    }
    out.push(dev)
  }
  return out
}
