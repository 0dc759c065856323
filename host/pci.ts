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

/** VF address → index for one PF, from its virtfnN links. */
export function virtfnIndexes(pfPci: string, fs: Sysfs = defaultSysfs): Map<string, number> {
  const out = new Map<string, number>()
  for (const entry of fs.list(Sysfs.pciDevice(pfPci))) {
    const m = /^virtfn(\d+)$/.exec(entry)
    const vf = m && fs.linkName(Sysfs.pciDevice(pfPci, entry))
    if (vf) out.set(vf, Number(m[1]))
  }
  return out
}

export function readPciDevice(pci: string, fs: Sysfs = defaultSysfs, indexesOf: (pfPci: string) => Map<string, number> = (pf) => virtfnIndexes(pf, fs)): PciDevice | undefined {
  const at = (...p: string[]) => Sysfs.pciDevice(pci, ...p)
  // one readdir, then only the attributes that exist: a missing file costs a thrown error (1,024 VFs → 3x)
  const has = new Set(fs.list(at()))
  if (has.size === 0) return undefined
  const pfPci = has.has('physfn') ? fs.linkName(at('physfn')) : undefined
  const netdevs = has.has('net') ? fs.list(at('net')) : []
  const dev: PciDevice = {
    pci,
    vendor: hex(fs.read(at('vendor'))),
    device: hex(fs.read(at('device'))),
    classCode: parseInt(hex(fs.read(at('class'))) || '0', 16),
    numaNode: (has.has('numa_node') ? fs.readInt(at('numa_node')) : undefined) ?? -1,
    numVfs: (has.has('sriov_numvfs') ? fs.readInt(at('sriov_numvfs')) : undefined) ?? 0,
    totalVfs: (has.has('sriov_totalvfs') ? fs.readInt(at('sriov_totalvfs')) : undefined) ?? 0,
    netdevs,
    uioDevices: has.has('uio') ? fs.list(at('uio')) : [],
    rdma: has.has('infiniband') && fs.list(at('infiniband')).length > 0,
    pKeys: [],
  }
  const driver = has.has('driver') ? fs.linkName(at('driver')) : undefined
  if (driver) dev.driver = driver
  const group = has.has('iommu_group') ? fs.linkName(at('iommu_group')) : undefined
  if (group) dev.iommuGroup = group
  const acpi = has.has('acpi_index') ? fs.read(at('acpi_index')) : undefined
  if (acpi) dev.acpiIndex = acpi
  if (netdevs[0]) {
    const type = fs.readInt(Sysfs.netDevice(netdevs[0], 'type'))
    if (type !== undefined) dev.linkType = LINK_TYPES[type] ?? String(type)
  }
  for (const ib of dev.rdma ? fs.list(at('infiniband')) : []) {
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
    const index = indexesOf(pfPci).get(pci)
    if (index !== undefined) dev.vfIndex = index
  }
  return dev
}

/** Every PCI device in sysfs, in address order. */
export function listPciDevices(fs: Sysfs = defaultSysfs): PciDevice[] {
  // each PF's virtfn links are read once per pass, not once per VF (1,024 VFs: 0.5 s → a few ms)
  const perPf = new Map<string, Map<string, number>>()
  const indexesOf = (pf: string) => perPf.get(pf) ?? perPf.set(pf, virtfnIndexes(pf, fs)).get(pf)!
  return fs.list('bus/pci/devices').map((pci) => readPciDevice(pci, fs, indexesOf)).filter((d): d is PciDevice => !!d)
}

export const NET_CLASS = 0x02
export function isNetClass(d: PciDevice): boolean {
  return d.classCode >> 16 === NET_CLASS
}
