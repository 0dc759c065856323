// PCI and SR-IOV topology from sysfs: what the device plugin discovers and selects on.
import { Sysfs, sysfs as defaultSysfs } from './sysfs'

export interface PciDevice {
  pci: string
  vendor: string // 4 hex digits, lower case, no 0x
  device: string
  classCode: number // e.g. 0x020000
  driver?: string
  numaNode: number // -1 when the platform reports none
  pfPci?: string // set for a VF
  pfName?: string // the PF's netdev, for a VF
  vfIndex?: number
  numVfs: number // VFs configured on this device (a PF)
  totalVfs: number
  netdevs: string[]
  iommuGroup?: string
  acpiIndex?: string
  linkType?: string // ether, infiniband, ... from the netdev's ARPHRD type
  uioDevices: string[] // uioN names for a uio-bound device
  rdma: boolean // has an RDMA (infiniband) device
  pKeys: string[]
}

const LINK_TYPES: Record<number, string> = { 1: 'ether', 32: 'infiniband', 772: 'loopback' }

function hex(v: string | undefined): string {
  return (v ?? '').replace(/^0x/, '').toLowerCase()
}

export function readPciDevice(pci: string, fs: Sysfs = defaultSysfs): PciDevice | undefined {
  const at = (...p: string[]) => Sysfs.pciDevice(pci, ...p)
  if (!fs.exists(at())) return undefined
  const pfPci = fs.linkName(at('physfn'))
  const netdevs = fs.list(at('net'))
  const dev: PciDevice = {
    pci,
    vendor: hex(fs.read(at('vendor'))),
    device: hex(fs.read(at('device'))),
    classCode: parseInt(hex(fs.read(at('class'))) || '0', 16),
    numaNode: fs.readInt(at('numa_node')) ?? -1,
    numVfs: fs.readInt(at('sriov_numvfs')) ?? 0,
    totalVfs: fs.readInt(at('sriov_totalvfs')) ?? 0,
    netdevs,
    uioDevices: fs.list(at('uio')),
    rdma: fs.list(at('infiniband')).length > 0,
    pKeys: [],
  }
  const driver = fs.linkName(at('driver'))
  if (driver) dev.driver = driver
  const group = fs.linkName(at('iommu_group'))
  if (group) dev.iommuGroup = group
  const acpi = fs.read(at('acpi_index'))
  if (acpi) dev.acpiIndex = acpi
  if (netdevs[0]) {
    const type = fs.readInt(Sysfs.netDevice(netdevs[0], 'type'))
    if (type !== undefined) dev.linkType = LINK_TYPES[type] ?? String(type)
  }
  for (const ib of fs.list(at('infiniband'))) {
    for (const port of fs.list(at('infiniband', ib, 'ports'))) {
      for (const n of fs.list(at('infiniband', ib, 'ports', port, 'pkeys'))) {
        const key = fs.read(at('infiniband', ib, 'ports', port, 'pkeys', n))
        if (key && key !== '0x0000') dev.pKeys.push(key.toLowerCase())
      }
    }
  }
  if (pfPci) {
    dev.pfPci = pfPci
    const pfName = fs.list(Sysfs.pciDevice(pfPci, 'net'))[0]
    if (pfName) dev.pfName = pfName
    for (const entry of fs.list(Sysfs.pciDevice(pfPci))) {
      const m = /^virtfn(\d+)$/.exec(entry)
      if (m && fs.linkName(Sysfs.pciDevice(pfPci, entry)) === pci) dev.vfIndex = Number(m[1])
    }
  }
  return dev
}

/** Every PCI device in sysfs, in address order. */
export function listPciDevices(fs: Sysfs = defaultSysfs): PciDevice[] {
  return fs.list('bus/pci/devices').map((pci) => readPciDevice(pci, fs)).filter((d): d is PciDevice => !!d)
}

export const NET_CLASS = 0x02
export function isNetClass(d: PciDevice): boolean {
  return d.classCode >> 16 === NET_CLASS
}
