// Matching discovered devices against selectors: OR within a field, AND across the fields of one selector,
// OR across selectors; the first resource that matches a device gets it.
import { isNetClass, type DiscoveryOptions, type PciDevice } from '../host/pci'
import { parseIndexRanges, type ResourceConfig, type Selector } from './config'

function inList(list: string[] | undefined, value: string | undefined): boolean {
  return list === undefined || (value !== undefined && list.includes(value))
}

/** `pfNames` / `rootDevices` entries with optional `#` VF-index ranges. */
function inRanges(list: string[] | undefined, owner: string | undefined, vfIndex: number | undefined, caseInsensitive: boolean): boolean {
  if (list === undefined) return true
  if (owner === undefined) return false
  const norm = (s: string) => (caseInsensitive ? s.toLowerCase() : s)
  return list.some((entry) => {
    const { name, indexes } = parseIndexRanges(entry, 'selector')
    return norm(name) === norm(owner) && (!indexes || (vfIndex !== undefined && indexes.has(vfIndex)))
  })
}

/** The optional reads a discovery pass must make for these resources' selectors to see what they match on. */
export function discoveryNeeds(resources: ResourceConfig[]): DiscoveryOptions {
  const selectors = resources.flatMap((r) => r.selectors)
  return {
    linkTypes: selectors.some((s) => s.linkTypes !== undefined),
    rdma: selectors.some((s) => s.isRdma !== undefined || s.pKeys !== undefined),
    acpiIndexes: selectors.some((s) => s.acpiIndexes !== undefined),
  }
}

export interface MatchContext {
  vhostNetAvailable: boolean
}

export function matchesSelector(d: PciDevice, s: Selector, ctx: MatchContext): boolean {
  return (
    inList(s.vendors, d.vendor) &&
    inList(s.devices, d.device) &&
    inList(s.drivers, d.driver) &&
    inList(s.pciAddresses, d.pci) &&
    // a PF never matches pfNames: the names are of the PFs whose VFs are wanted
    inRanges(s.pfNames, d.pfPci ? d.pfName : undefined, d.vfIndex, true) &&
    inRanges(s.rootDevices, d.pfPci ?? d.pci, d.pfPci ? d.vfIndex : undefined, true) &&
    inList(s.linkTypes, d.linkType) &&
    inList(s.acpiIndexes, d.acpiIndex) &&
    // DDP profiles are read with vendor tools this plugin does not run: a ddpProfiles selector matches nothing
    s.ddpProfiles === undefined &&
    (s.pKeys === undefined || s.pKeys.some((k) => d.pKeys.includes(k.toLowerCase()))) &&
    s.vdpaType === undefined &&
    (s.needVhostNet !== true || ctx.vhostNetAvailable) &&
    (s.isRdma === undefined || s.isRdma === d.rdma)
  )
}

export function matchesResource(d: PciDevice, r: ResourceConfig, ctx: MatchContext): boolean {
  if (r.deviceType === 'netDevice' && !isNetClass(d)) return false
  if (r.deviceType === 'auxNetDevice') return false // auxiliary-bus sub-functions are not discovered here
  return r.selectors.some((s) => matchesSelector(d, s, ctx))
}

/** Devices a resource may offer: not a PF with VFs configured, not the device carrying the default route. */
export function offerable(d: PciDevice, defaultRouteIfaces: Set<string>): boolean {
  if (d.numVfs > 0) return false
  return !d.netdevs.some((n) => defaultRouteIfaces.has(n))
}

/** Resource full name → its devices, the first matching resource taking each device. */
export function assignDevices(devices: PciDevice[], resources: ResourceConfig[], ctx: MatchContext, defaultRouteIfaces: Set<string>): Map<string, PciDevice[]> {
  const out = new Map<string, PciDevice[]>(resources.map((r) => [`${r.resourcePrefix}/${r.resourceName}`, []]))
  for (const d of devices) {
    if (!offerable(d, defaultRouteIfaces)) continue
    const r = resources.find((res) => matchesResource(d, res, ctx))
    if (r) out.get(`${r.resourcePrefix}/${r.resourceName}`)!.push(d)
  }
  return out
}
