// A device's health as kubelet sees it: a VF is as healthy as its PF's link, since a PF that is down or has
// lost carrier passes no VF traffic (the Go plugin reports every device Healthy).
import type { LinkState } from '../host/link-events'
import type { PciDevice } from '../host/pci'

/** Why `d` is unhealthy, or undefined when it is healthy (also when its PF's link is unknown). */
export function unhealthyBecause(d: PciDevice, links: Map<string, LinkState>): string | undefined {
  const pf = d.pfName ? links.get(d.pfName) : undefined
  if (!pf) return undefined
  if (!pf.up) return `PF ${d.pfName} is down`
  if (!pf.carrier) return `PF ${d.pfName} has no carrier`
  return undefined
}
