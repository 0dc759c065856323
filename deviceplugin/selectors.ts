// Matching discovered devices against selectors: OR within a field, AND across the fields of one selector,
// OR across selectors; the first resource that matches a device gets it. Every check says why it rejects,
// so that `sriovdp explain` reports exactly what the matching decided.
import { isNetClass, type DiscoveryOptions, type PciDevice } from '../host/pci'
import { fullName, type ResourceConfig, type Selector } from './config'
import type { PfEntry } from './vf-index-ranges'

/** Why one selector field rejects a device: the value read from the device and the values the field wants. */
export interface Rejection {
  field: string
  read?: string // undefined: the device has no such value
  wanted: string[]
  /** the value comes from a netdev and there is none (a DPDK-bound VF, or a PF without a netdev) */
  noNetdev?: boolean
  /** a rejection that is not a mismatch of values */
  note?: string
}

function inList(field: string, list: string[] | undefined, value: string | undefined, noNetdev = false): Rejection | undefined {
  if (list === undefined || (value !== undefined && list.includes(value))) return undefined
  const r: Rejection = { field, wanted: list }
  if (value !== undefined) r.read = value
  if (value === undefined && noNetdev) r.noNetdev = true
  return r
}

/** `pfNames` / `rootDevices` entries with optional `#` VF-index ranges, for a VF of `owner` at `vfIndex`. */
function inRanges(field: string, list: PfEntry[] | undefined, d: PciDevice, owner: string | undefined): Rejection | undefined {
  if (list === undefined) return undefined
  const wanted = list.map((e) => e.written)
  // a PF never matches: the entries name PFs whose VFs are wanted
  if (!d.pfPci) return { field, wanted, note: `a PF is never selected by ${field}, which names the PFs whose VFs are wanted` }
  const read = owner === undefined ? undefined : d.vfIndex === undefined ? owner : `${owner}#${d.vfIndex}`
  const hit = owner !== undefined && list.some(({ name, indexes }) => name.toLowerCase() === owner.toLowerCase() && (!indexes || (d.vfIndex !== undefined && indexes.has(d.vfIndex))))
  if (hit) return undefined
  const r: Rejection = { field, wanted }
  if (read !== undefined) r.read = read
  else r.noNetdev = true // only pfNames reads a name: the PF's netdev
  return r
}

/** The optional reads a discovery pass must make for these resources' selectors to see what they match on. */
export function discoveryNeeds(resources: ResourceConfig[]): DiscoveryOptions & { ddp: boolean } {
  const selectors = resources.flatMap((r) => r.selectors)
  return {
    // a partition key is read only from an InfiniBand function, which its link type tells
    linkTypes: selectors.some((s) => s.linkTypes !== undefined || s.pKeys !== undefined),
    rdma: selectors.some((s) => s.isRdma === true || s.pKeys !== undefined),
    acpiIndexes: selectors.some((s) => s.acpiIndexes !== undefined),
    vdpa: selectors.some((s) => s.vdpaType !== undefined),
    auxiliary: resources.some((r) => r.deviceType === 'auxNetDevice'),
    ddp: selectors.some((s) => s.ddpProfiles !== undefined),
  }
}

/** ddpProfiles: the profile the kernel reports for the device's PF (host/ddp.ts), when it reports one. */
function ddpRejection(s: Selector, d: PciDevice): Rejection | undefined {
  if (s.ddpProfiles === undefined || (d.ddpProfile !== undefined && s.ddpProfiles.includes(d.ddpProfile))) return undefined
  if (d.ddpProfile !== undefined) return { field: 'ddpProfiles', read: d.ddpProfile, wanted: s.ddpProfiles }
  return { field: 'ddpProfiles', wanted: s.ddpProfiles, note: `no DDP profile reported for it: the kernel reports one only for ice (E810) PFs, through devlink; i40e profiles need Intel's ddptool, which sriovdp does not run` }
}

/** vdpaType: the type of the vDPA device on the function, from the driver it is bound to. */
function vdpaRejection(s: Selector, d: PciDevice): Rejection | undefined {
  if (s.vdpaType === undefined || d.vdpa?.type === s.vdpaType) return undefined
  if (!d.vdpa) return { field: 'vdpaType', wanted: [s.vdpaType], note: 'no vDPA device on the vdpa bus sits on this function' }
  return { field: 'vdpaType', read: d.vdpa.type ?? `${d.vdpa.name} bound to ${d.vdpa.driver ?? 'no driver'}`, wanted: [s.vdpaType] }
}

/**
 * The first field of `s` that rejects `d`, in the order the fields are documented; undefined when it matches.
 * As in the Go plugin, `isRdma: false` and `needVhostNet` select nothing: the first is no filter at all, the
 * second adds /dev/vhost-net to the allocation (allocation.ts).
 */
export function selectorRejection(d: PciDevice, s: Selector): Rejection | undefined {
  return (
    inList('vendors', s.vendors, d.vendor) ??
    inList('devices', s.devices, d.device) ??
    inList('drivers', s.drivers, d.driver) ??
    inList('pciAddresses', s.pciAddresses, d.pci) ??
    inRanges('pfNames', s.pfNames, d, d.pfName) ??
    inRanges('rootDevices', s.rootDevices, d, d.pfPci) ??
    inList('linkTypes', s.linkTypes, d.linkType, d.netdevs.length === 0) ??
    inList('acpiIndexes', s.acpiIndexes, d.acpiIndex) ??
    inList('auxTypes', s.auxTypes, d.aux?.type) ??
    ddpRejection(s, d) ??
    (s.pKeys !== undefined && !s.pKeys.some((k) => d.pKeys.includes(k.toLowerCase())) ? { field: 'pKeys', wanted: s.pKeys, ...(d.pKeys.length ? { read: d.pKeys.join(',') } : {}) } : undefined) ??
    vdpaRejection(s, d) ??
    (s.isRdma === true && !d.rdma ? { field: 'isRdma', read: 'false', wanted: ['true'] } : undefined)
  )
}

export function matchesSelector(d: PciDevice, s: Selector): boolean {
  return selectorRejection(d, s) === undefined
}

/** The selector object that put `d` in `r` (the first that matches, as the Go plugin takes them in order). */
export function selectorOf(d: PciDevice, r: ResourceConfig): Selector | undefined {
  return r.selectors.find((s) => matchesSelector(d, s))
}

/** Why a resource's deviceType excludes `d` whatever its selectors say; undefined when it does not. */
export function deviceTypeRejection(d: PciDevice, r: ResourceConfig): string | undefined {
  if (r.deviceType === 'auxNetDevice') return d.aux ? undefined : 'deviceType auxNetDevice: not an auxiliary device (these resources offer sub-functions such as mlx5_core.sf.1)'
  if (d.aux) return `deviceType ${r.deviceType}: an auxiliary device is offered only by auxNetDevice resources`
  if (r.deviceType === 'netDevice' && !isNetClass(d)) return `deviceType netDevice: class 0x${d.classCode.toString(16).padStart(6, '0')} is not a network device`
  return undefined
}

export function matchesResource(d: PciDevice, r: ResourceConfig): boolean {
  return deviceTypeRejection(d, r) === undefined && selectorOf(d, r) !== undefined
}

/** Why `d` is never offered, whatever the config: a PF with VFs configured, or the device of the default route. */
export function exclusion(d: PciDevice, defaultRouteIfaces: Set<string>): { kind: 'pf-with-vfs' | 'default-route'; text: string } | undefined {
  if (d.numVfs > 0) return { kind: 'pf-with-vfs', text: `a PF with ${d.numVfs} VFs configured is never offered (its VFs are)` }
  const route = d.netdevs.find((n) => defaultRouteIfaces.has(n))
  if (route) return { kind: 'default-route', text: `${route} carries the node's default route` }
  return undefined
}

/** Resource full name → its devices, the first matching resource taking each device. */
export function assignDevices(devices: PciDevice[], resources: ResourceConfig[], defaultRouteIfaces: Set<string>): Map<string, PciDevice[]> {
  const out = new Map<string, PciDevice[]>(resources.map((r) => [fullName(r), []]))
  for (const d of devices) {
    if (exclusion(d, defaultRouteIfaces)) continue
    const r = resources.find((res) => matchesResource(d, res))
    if (r) out.get(fullName(r))!.push(d)
  }
  return out
}
