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
  let vfIndex = -1
  for (const entry of fs.list(Sysfs.pciDevice(pfPci))) {
    const index = numberAfter(entry, 'virtfn')
    if (index !== undefined && fs.linkName(Sysfs.pciDevice(pfPci, entry)) === pci) {
      vfIndex = index
      break
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
