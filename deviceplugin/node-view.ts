// One look at the node: its PCI devices, host link states and the default-route interfaces, what both the
// device assignment and `explain` reason on.
import { defaultRouteInterfaces, hostLinkStates, type LinkState } from '../host/link-events'
import type { PciDevice } from '../host/pci'

export interface NodeView {
  devices: PciDevice[]
  links: Map<string, LinkState>
  defaultRoute: Set<string>
}

/** `discover` runs while the kernel answers the link dump; `discovered` marks its end (start-up timing). */
export async function observeNode(discover: () => PciDevice[] | Promise<PciDevice[]>, discovered?: () => void): Promise<NodeView> {
  const linkStates = hostLinkStates().catch(() => new Map<string, LinkState>())
  const devices = await discover()
  discovered?.()
  const links = await linkStates
  const defaultRoute = await defaultRouteInterfaces(links).catch(() => new Set<string>())
  return { devices, links, defaultRoute }
}
