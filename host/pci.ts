// PCI and SR-IOV topology from sysfs: what the device plugin discovers and selects on.
import { listAuxDevices } from './aux-devices'
import { defaultPKey, rdmaDevicesAt, type RdmaDevice } from './rdma'
import { Sysfs, sysfs as defaultSysfs } from './sysfs'
import { numberAfter } from '../protocol/text-shape'
import { vdpaDevicesByParent, type VdpaDevice } from './vdpa'

export interface PciDevice {
  pci: string // the device ID: a PCI address, or an auxiliary device's name (mlx5_core.sf.4)
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
  pKeys: string[] // the default partition key (index 0) of an InfiniBand function
  rdmaDevices?: RdmaDevice[] // read with `rdma`
  vfioNoIommu?: boolean // its vfio group is a no-IOMMU group: /dev/vfio/noiommu-<group>
  vdpa?: VdpaDevice // read with `vdpa`
  aux?: { type: string; parent: string } // an auxiliary device (sf) and its parent PCI function
  ddpProfile?: string // the DDP package its PF runs (host/ddp.ts)
}

const LINK_TYPES: Record<number, string> = { 1: 'ether', 32: 'infiniband', 772: 'loopback' }

/** ether, infiniband, ... from a netdev's ARPHRD type; undefined when it cannot be read. */
export function netdevLinkType(fs: Sysfs, netdev: string): string | undefined {
  const type = fs.readInt(Sysfs.netDevice(netdev, 'type'))
  return type === undefined ? undefined : LINK_TYPES[type] ?? String(type)
}

function hex(v: string | undefined): string {
  return (v ?? '').replace(/^0x/, '').toLowerCase()
}

/** VF address → index for one PF, from its virtfnN links. */
export function virtfnIndexes(pfPci: string, fs: Sysfs = defaultSysfs, entries: Iterable<string> = fs.list(Sysfs.pciDevice(pfPci))): Map<string, number> {
  const out = new Map<string, number>()
  for (const entry of entries) {
    const index = numberAfter(entry, 'virtfn')
    if (index === undefined) continue
    const vf = fs.linkName(Sysfs.pciDevice(pfPci, entry))
    if (vf) out.set(vf, index)
  }
  return out
}

/**
 * What a pass reads beyond what every selector needs. Each costs a file per VF (1,024 VFs: ~10 ms), so the
 * device plugin asks only for what its selectors use. Devices that are not VFs are always read in full.
 */
export interface DiscoveryOptions {
  linkTypes?: boolean // the netdev's ARPHRD type (linkTypes selector)
  rdma?: boolean // the RDMA devices, their char devices and the default pkey (isRdma, pKeys selectors)
  acpiIndexes?: boolean // acpi_index (acpiIndexes selector)
  vdpa?: boolean // the vdpa bus (vdpaType selector)
  auxiliary?: boolean // the auxiliary bus (auxNetDevice resources)
}

interface Identity {
  vendor: string
  device: string
  classCode: number
  driver?: string
}

/** vendor, device, class and driver from the device's `uevent` (one read instead of four), or from the files. */
function identity(fs: Sysfs, pci: string, hasDriverLink: () => boolean): Identity {
  const at = (...p: string[]) => Sysfs.pciDevice(pci, ...p)
  const fields = new Map((fs.read(at('uevent')) ?? '').split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const))
  const id = /^([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(fields.get('PCI_ID') ?? '')
  const cls = fields.get('PCI_CLASS')
  if (id && cls) {
    const out: Identity = { vendor: id[1].toLowerCase(), device: id[2].toLowerCase(), classCode: parseInt(cls, 16) }
    if (fields.get('DRIVER')) out.driver = fields.get('DRIVER')
    return out
  }
  const out: Identity = {
    vendor: hex(fs.read(at('vendor'))),
    device: hex(fs.read(at('device'))),
    classCode: parseInt(hex(fs.read(at('class'))) || '0', 16),
  }
  const driver = hasDriverLink() ? fs.linkName(at('driver')) : undefined
  if (driver) out.driver = driver
  return out
}

const UIO_DRIVERS = new Set(['uio_pci_generic', 'igb_uio'])

/** The parts read the same way for every device; `has` says whether an entry may exist in its directory. */
function readCommon(fs: Sysfs, pci: string, has: (entry: string, driver?: string) => boolean, opts: DiscoveryOptions): Omit<PciDevice, 'numaNode' | 'numVfs' | 'totalVfs'> {
  const at = (...p: string[]) => Sysfs.pciDevice(pci, ...p)
  const id = identity(fs, pci, () => has('driver'))
  const may = (entry: string) => has(entry, id.driver)
  const netdevs = may('net') ? fs.list(at('net')) : []
  const dev: Omit<PciDevice, 'numaNode' | 'numVfs' | 'totalVfs'> = {
    pci, vendor: id.vendor, device: id.device, classCode: id.classCode, netdevs,
    uioDevices: may('uio') ? fs.list(at('uio')) : [],
    rdma: false,
    pKeys: [],
  }
  if (id.driver) dev.driver = id.driver
  // only a vfio-bound device hands its group to a container
  const group = id.driver === 'vfio-pci' && may('iommu_group') ? fs.linkName(at('iommu_group')) : undefined
  if (group) dev.iommuGroup = group
  // vfio names the group it makes for a device without an IOMMU (enable_unsafe_noiommu_mode) so
  if (group && fs.read(at('iommu_group', 'name')) === 'vfio-noiommu') dev.vfioNoIommu = true
  const acpi = may('acpi_index') ? fs.read(at('acpi_index')) : undefined
  if (acpi) dev.acpiIndex = acpi
  const linkType = netdevs[0] && opts.linkTypes ? netdevLinkType(fs, netdevs[0]) : undefined
  if (linkType) dev.linkType = linkType
  const rdma = may('infiniband') ? rdmaDevicesAt(fs, at()) : []
  dev.rdma = rdma.length > 0
  if (dev.rdma) dev.rdmaDevices = rdma
  // as in the Go plugin, only an InfiniBand function has a partition key to select on
  const pkey = linkType === 'infiniband' ? defaultPKey(fs, at(), rdma) : undefined
  if (pkey) dev.pKeys.push(pkey)
  return dev
}

/** Whether a VF's directory may hold `entry`, without listing it: a missing net/ or link reads as empty. */
function vfMayHave(entry: string, driver: string | undefined, opts: DiscoveryOptions): boolean {
  switch (entry) {
    case 'net':
    case 'driver':
    case 'iommu_group':
      return true
    case 'uio':
      return !!driver && UIO_DRIVERS.has(driver)
    case 'infiniband':
      return !!opts.rdma
    case 'acpi_index':
      return !!opts.acpiIndexes
    default:
      return false
  }
}

/** Every PCI device in sysfs, in address order. */
export function listPciDevices(fs: Sysfs = defaultSysfs, opts: DiscoveryOptions = {}): PciDevice[] {
  // A VF's RID is above its PF's, so in address order every PF comes before its VFs. A PF's directory is
  // listed and its virtfnN links place its VFs; a VF then needs only its uevent and net/ (2 reads instead of
  // ~10): it has no sriov_* files, its NUMA node is its PF's (the kernel puts VFs on the PF's bus), and the
  // optional entries are looked up only where its driver or the selectors make them possible.
  const places = new Map<string, { pf: PciDevice; index: number }>()
  const out: PciDevice[] = []
  for (const pci of fs.list('bus/pci/devices')) {
    const place = places.get(pci)
    if (place) {
      const dev: PciDevice = { ...readCommon(fs, pci, (e, driver) => vfMayHave(e, driver, opts), opts), numaNode: place.pf.numaNode, numVfs: 0, totalVfs: 0, pfPci: place.pf.pci, vfIndex: place.index }
      if (place.pf.netdevs[0]) dev.pfName = place.pf.netdevs[0]
      out.push(dev)
      continue
    }
    const entries = new Set(fs.list(Sysfs.pciDevice(pci)))
    if (entries.size === 0) continue
    const at = (...p: string[]) => Sysfs.pciDevice(pci, ...p)
    const readInt = (name: string) => (entries.has(name) ? fs.readInt(at(name)) : undefined)
    const dev: PciDevice = {
      ...readCommon(fs, pci, (e) => entries.has(e), opts),
      numaNode: readInt('numa_node') ?? -1,
      numVfs: readInt('sriov_numvfs') ?? 0,
      totalVfs: readInt('sriov_totalvfs') ?? 0,
    }
    // a VF listed before its PF (never in the kernel's order) or one its PF no longer lists: physfn places it
    const pfPci = entries.has('physfn') ? fs.linkName(at('physfn')) : undefined
    if (pfPci) {
      dev.pfPci = pfPci
      const pfName = fs.list(Sysfs.pciDevice(pfPci, 'net'))[0]
      if (pfName) dev.pfName = pfName
      const index = virtfnIndexes(pfPci, fs).get(pci)
      if (index !== undefined) dev.vfIndex = index
    }
    for (const [vf, index] of virtfnIndexes(pci, fs, [...entries].filter((e) => e.startsWith('virtfn')))) places.set(vf, { pf: dev, index })
    out.push(dev)
  }
  if (opts.vdpa) {
    const vdpa = vdpaDevicesByParent(fs)
    for (const d of out) if (vdpa.has(d.pci)) d.vdpa = vdpa.get(d.pci)
  }
  // auxiliary devices follow the PCI functions they sit on, which give them their identity
  if (opts.auxiliary) out.push(...listAuxDevices(fs, out, opts))
  return out
}

export const NET_CLASS = 0x02
export function isNetClass(d: PciDevice): boolean {
  return d.classCode >> 16 === NET_CLASS
}
