// Resolving a VF from its PCI address through sysfs, as sriov-cni does: its PF, its index on the PF, its
// netdev and its driver (a DPDK-bound VF has no netdev).
import path = require('node:path')
import { Sysfs, sysfs as defaultSysfs } from './sysfs'
import { numberAfter } from '../protocol/text-shape'

export const DPDK_DRIVERS = ['vfio-pci', 'uio_pci_generic', 'igb_uio'] as const

export interface VfDevice {
  pci: string
  pfName: string
  pfPci: string
  vfIndex: number
  netdev?: string // absent when bound to a DPDK driver (or unbound)
  driver?: string
  dpdk: boolean
}

export class VfLookupError extends Error {}

export function resolveVf(pci: string, fs: Sysfs = defaultSysfs): VfDevice {
  const dev = Sysfs.pciDevice(pci)
  if (!fs.exists(dev)) throw new VfLookupError(`PCI device ${pci} not found in ${fs.path('bus/pci/devices')}: check deviceID`)
  const pfPci = fs.linkName(Sysfs.pciDevice(pci, 'physfn'))
  if (!pfPci) throw new VfLookupError(`PCI device ${pci} is not an SR-IOV VF (no physfn link): check deviceID`)
  const pfName = fs.list(Sysfs.pciDevice(pci, 'physfn', 'net'))[0]
  if (!pfName) throw new VfLookupError(`the PF ${pfPci} of VF ${pci} has no network interface`)
  let vfIndex = indexFromOffset(pci, pfPci, fs) ?? -1
  if (vfIndex < 0) {
    for (const entry of fs.list(Sysfs.pciDevice(pfPci))) {
      const index = numberAfter(entry, 'virtfn')
      if (index !== undefined && fs.linkName(Sysfs.pciDevice(pfPci, entry)) === pci) {
        vfIndex = index
        break
      }
    }
  }
  if (vfIndex < 0) throw new VfLookupError(`VF ${pci} is not listed among the virtfnN links of its PF ${pfName}`)
  const driver = fs.linkName(Sysfs.pciDevice(pci, 'driver'))
  const netdev = fs.list(Sysfs.pciDevice(pci, 'net'))[0]
  const dpdk = !netdev && !!driver && (DPDK_DRIVERS as readonly string[]).includes(driver)
  const out: VfDevice = { pci, pfName, pfPci, vfIndex, dpdk }
  if (netdev) out.netdev = netdev
  if (driver) out.driver = driver
  return out
}

/** PCIe routing ID (bus, device, function) of `dddd:bb:dd.f`, with its domain; undefined for another form. */
function routingId(pci: string): { domain: string; id: number } | undefined {
  if (pci.length !== 12 || pci[4] !== ':' || pci[7] !== ':' || pci[10] !== '.') return undefined
  const bus = parseInt(pci.slice(5, 7), 16)
  const device = parseInt(pci.slice(8, 10), 16)
  const fn = parseInt(pci.slice(11), 16)
  if (Number.isNaN(bus) || Number.isNaN(device) || device > 0x1f || Number.isNaN(fn) || fn > 7) return undefined
  return { domain: pci.slice(0, 4), id: (bus << 8) | (device << 3) | fn }
}

/**
 * The VF's index from where SR-IOV places VFs (VF n at the PF's routing ID + offset + n × stride), confirmed
 * by its one virtfnN link: a PF with 64 VFs is not scanned link by link. Undefined when anything disagrees.
 */
function indexFromOffset(pci: string, pfPci: string, fs: Sysfs): number | undefined {
  const vf = routingId(pci)
  const pf = routingId(pfPci)
  if (!vf || !pf || vf.domain !== pf.domain) return undefined
  const offset = fs.readInt(Sysfs.pciDevice(pfPci, 'sriov_offset'))
  const stride = fs.readInt(Sysfs.pciDevice(pfPci, 'sriov_stride'))
  if (offset === undefined || !stride) return undefined
  const index = (vf.id - pf.id - offset) / stride
  if (!Number.isInteger(index) || index < 0) return undefined
  return fs.linkName(Sysfs.pciDevice(pfPci, `virtfn${index}`)) === pci ? index : undefined
}

/** The VF netdev's current name on the host, re-read (the kernel may have returned it under another name). */
export function vfNetdev(pci: string, fs: Sysfs = defaultSysfs): string | undefined {
  return fs.list(Sysfs.pciDevice(pci, 'net'))[0]
}

export function pciOfNetdev(name: string, fs: Sysfs = defaultSysfs): string | undefined {
  const target = fs.linkName(Sysfs.netDevice(name, 'device'))
  return target ? path.basename(target) : undefined
}

/** Whether the VF exists and is bound to a driver that gives it a netdev (not vfio-pci or uio, not unbound). */
export function vfHasNetdevDriver(pci: string, fs: Sysfs = defaultSysfs): boolean {
  if (!fs.exists(Sysfs.pciDevice(pci))) return false
  const driver = fs.linkName(Sysfs.pciDevice(pci, 'driver'))
  return !!driver && !(DPDK_DRIVERS as readonly string[]).includes(driver)
}
