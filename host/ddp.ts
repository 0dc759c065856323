// The DDP (Dynamic Device Personalization) package a device's PF runs, as the kernel reports it. ice (E810)
// reports the active package's name as devlink's running version fw.app.name ("ICE OS Default Package",
// "ICE COMMS Package"). i40e (X710, XL710, XXV710) reports none anywhere (devlink, ethtool, debugfs): its
// profile is read by Intel's ddptool, which this plugin does not run, so those devices have no profile.
import { openDevlink, type DevlinkClient } from './devlink'
import type { PciDevice } from './pci'

export const DDP_VERSION_NAME = 'fw.app.name'

/**
 * Sets `ddpProfile` on every PCI function whose own devlink instance or its PF's reports one (the Go plugin
 * asks the function first, then its PF). Returns why nothing could be asked, or undefined.
 */
export async function readDdpProfiles(devices: PciDevice[], open: () => Promise<DevlinkClient> = openDevlink): Promise<string | undefined> {
  let client: DevlinkClient
  try {
    client = await open()
  } catch (e) {
    return (e as Error).message
  }
  try {
    const asked = new Map<string, Promise<string | undefined>>()
    const profile = (pci: string) => {
      if (!asked.has(pci)) asked.set(pci, client.runningVersions('pci', pci).then((v) => v.get(DDP_VERSION_NAME), () => undefined))
      return asked.get(pci)!
    }
    await Promise.all(devices.filter((d) => !d.aux).map(async (d) => {
      const found = (await profile(d.pci)) ?? (d.pfPci ? await profile(d.pfPci) : undefined)
      if (found) d.ddpProfile = found
    }))
    return undefined
  } finally {
    client.close()
  }
}
