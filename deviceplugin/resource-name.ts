// Resource names as kubelet accepts them in Register (IsExtendedResourceName): `<prefix>/<name>` where the name
// part is at most 63 characters and starts and ends with a letter or digit, the prefix is a DNS subdomain that
// fits "requests.<prefix>" in 253 characters, and nothing lives under kubernetes.io (kubelet's own resources).
// A name kubelet would refuse is a config error here, not a registration failing forever on the node.
import { ConfigError } from './config'

const MAX_NAME = 63
// Allocate writes "<prefix>-<name>-<PCI address>-device.json" for Multus, one file name of at most 255 bytes
const MAX_DEVICE_INFO_NAMES = 255 - '--0000:00:00.0-device.json'.length
const MAX_PREFIX = 253 - 'requests.'.length
const ENDS = /^[A-Za-z0-9](.*[A-Za-z0-9])?$/
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** `s` for an error message, cut short. */
const shown = (s: string) => JSON.stringify(s.length > 70 ? `${s.slice(0, 70)}...` : s)

/** Throws ConfigError naming `where` and the field when kubelet would refuse `prefix/name`. */
export function checkKubeletResourceName(name: string, prefix: string, where: string): void {
  if (name.length > MAX_NAME) throw new ConfigError(`${where}.resourceName: ${shown(name)} has ${name.length} characters; kubelet accepts at most ${MAX_NAME}`)
  if (!ENDS.test(name)) throw new ConfigError(`${where}.resourceName: ${shown(name)} must start and end with a letter or digit (kubelet refuses it otherwise)`)
  if (prefix.length > MAX_PREFIX) throw new ConfigError(`${where}.resourcePrefix: ${shown(prefix)} has ${prefix.length} characters; kubelet accepts at most ${MAX_PREFIX}`)
  if (!SUBDOMAIN.test(prefix)) throw new ConfigError(`${where}.resourcePrefix: ${shown(prefix)} is not a DNS subdomain (labels of a-z, 0-9 and -, separated by dots)`)
  if (prefix.length + name.length > MAX_DEVICE_INFO_NAMES) {
    throw new ConfigError(`${where}.resourcePrefix: ${shown(prefix)} and the resourceName have ${prefix.length + name.length} characters together; the device-info file Allocate writes for Multus, "<prefix>-<name>-<PCI address>-device.json", holds at most ${MAX_DEVICE_INFO_NAMES} of them (a file name is at most 255 bytes)`)
  }
  if (`${prefix}/`.endsWith('kubernetes.io/') || prefix.startsWith('requests.')) throw new ConfigError(`${where}.resourcePrefix: ${shown(prefix)} is kubelet's own namespace; kubelet refuses device plugin resources there`)
}
