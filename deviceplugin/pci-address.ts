// PCI addresses in pciAddresses and rootDevices entries, as the config parser has normalized them (short
// forms given their domain, lower case). The Go plugin compares them as written, so " 02:00.1" or a typo
// silently matches nothing there (its 2019 form refused them); here they are config errors.
import { ConfigError } from './config'

const NORMALIZED = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/

/** Throws ConfigError naming `where` unless `entry` (before any `#` VF index ranges) is a PCI address. */
export function checkPciAddress(entry: string, where: string): void {
  const address = entry.split('#')[0]
  if (NORMALIZED.test(address)) return
  const spaces = address.trim() !== address ? ' (it has white space around it)' : ''
  throw new ConfigError(`${where}: ${JSON.stringify(entry.length > 60 ? `${entry.slice(0, 60)}...` : entry)} is not a PCI address such as 0000:02:00.1 or 02:00.1${spaces}`)
}
