// Whether a VF's netdev is in this process's network namespace (the host's). The kernel hands a VF netdev back
// to the host when the namespace it was in dies, so one still away is held by a namespace that lives on.
import { closeRtnl, linkByIndex, linkByName, openRtnl, type LinkInfo } from './link'
import { sysfs as defaultSysfs, type Sysfs } from './sysfs'
import { vfNetdev } from './vf-device'

/**
 * True when a host link is the VF's netdev: under its sysfs name, one of `names`, or at `index`. A link the
 * kernel (5.15 and later) gives another parent device is not it; one without a parent device may be.
 */
export async function vfNetdevOnHost(pci: string, names: (string | undefined)[], index?: number, fs: Sysfs = defaultSysfs): Promise<boolean> {
  const isIt = (link: LinkInfo | undefined) => !!link && (link.parentDev === undefined || link.parentDev === pci)
  const sock = openRtnl()
  try {
    for (const name of new Set([vfNetdev(pci, fs), ...names])) {
      if (name && isIt(await linkByName(sock, name))) return true
    }
    return index !== undefined && isIt(await linkByIndex(sock, index))
  } finally {
    closeRtnl(sock)
  }
}
