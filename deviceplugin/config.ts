// The sriovdp-config ConfigMap (/etc/pcidp/config.json): sriov-network-device-plugin's schema, including its
// 2019 form, parsed into typed resources with errors naming the resource and the field.
import { matchKeys } from './json-keys'
import { checkPciAddress } from './pci-address'
import { checkKubeletResourceName } from './resource-name'
import { checkIndexes, MAX_VF_INDEX, parseIndexRanges, type PfEntry } from './vf-index-ranges'

export type DeviceType = 'netDevice' | 'accelerator' | 'auxNetDevice'

export interface Selector {
  vendors?: string[]
  devices?: string[]
  drivers?: string[]
  pciAddresses?: string[]
  /** PF netdev names, each with the VF (or SF) index ranges written after `#`, parsed once here */
  pfNames?: PfEntry[]
  /** PF PCI addresses, likewise */
  rootDevices?: PfEntry[]
  linkTypes?: string[]
  acpiIndexes?: string[]
  ddpProfiles?: string[]
  pKeys?: string[]
  vdpaType?: string
  needVhostNet?: boolean
  isRdma?: boolean
  auxTypes?: string[] // auxNetDevice resources: the kind of auxiliary device (sf)
}

export interface ResourceConfig {
  resourceName: string
  resourcePrefix: string
  deviceType: DeviceType
  excludeTopology: boolean
  selectors: Selector[]
  additionalInfo: Record<string, Record<string, string>>
}

export class ConfigError extends Error {}

/** `<prefix>/<name>`: how kubelet, metrics and logs name the resource. */
export const fullName = (r: Pick<ResourceConfig, 'resourcePrefix' | 'resourceName'>) => `${r.resourcePrefix}/${r.resourceName}`

const NAME = /^[a-zA-Z0-9_-]+$/
const LIST_FIELDS = ['vendors', 'devices', 'drivers', 'pciAddresses', 'pfNames', 'rootDevices', 'linkTypes', 'acpiIndexes', 'ddpProfiles', 'pKeys', 'auxTypes'] as const
const STRING_LIST_FIELDS = LIST_FIELDS.filter((f): f is Exclude<(typeof LIST_FIELDS)[number], 'pfNames' | 'rootDevices'> => f !== 'pfNames' && f !== 'rootDevices')
// isRdma is spelled IsRdma in the Go type (no JSON tag): keys match either way, as every key does
const SELECTOR_FIELDS = [...LIST_FIELDS, 'vdpaType', 'needVhostNet', 'isRdma'] as const
const RESOURCE_FIELDS = ['resourceName', 'resourcePrefix', 'deviceType', 'excludeTopology', 'selectors', 'additionalInfo'] as const
// the Go plugin accepts a PCI address without its domain, as lspci prints it, for domain 0000
const SHORT_PCI = /^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i
const FULL_PCI = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i

/** `02:00.0` → `0000:02:00.0`; sysfs spells addresses in lower case. Anything else is kept as written. */
function pciAddress(a: string): string {
  if (SHORT_PCI.test(a)) return `0000:${a.toLowerCase()}`
  return FULL_PCI.test(a) ? a.toLowerCase() : a
}

/** A list entry of `field` as selectors compare it. */
function normalize(field: (typeof LIST_FIELDS)[number], x: string): string {
  switch (field) {
    case 'vendors':
    case 'devices':
      return x.toLowerCase().replace(/^0x/, '')
    case 'pciAddresses':
      return pciAddress(x)
    case 'rootDevices': {
      const hash = x.indexOf('#')
      return hash < 0 ? pciAddress(x) : pciAddress(x.slice(0, hash)) + x.slice(hash)
    }
    default:
      return x
  }
}

/** Unknown keys by name, each with the places it appears: one warning per key, however often it recurs. */
class UnknownKeys {
  private seen = new Map<string, string[]>()
  add(where: string, keys: string[]): void {
    for (const k of keys) this.seen.set(k, [...(this.seen.get(k) ?? []), where])
  }
  warnings(): string[] {
    return [...this.seen].map(([key, wheres]) => `${wheres.join(', ')}: unknown key ${JSON.stringify(key)} ignored`)
  }
}

function parseSelector(raw: unknown, where: string, unknown: UnknownKeys): Selector {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${where}: expected an object`)
  const { values: o, unknown: extra } = matchKeys(raw as Record<string, unknown>, SELECTOR_FIELDS)
  unknown.add(where, extra)
  const s: Selector = {}
  const strings = (f: (typeof LIST_FIELDS)[number]): string[] | undefined => {
    const v = o[f]
    if (v === undefined) return undefined
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ConfigError(`${where}.${f}: expected a list of strings`)
    if (v.length === 0) return undefined // as in the Go plugin, an empty list filters nothing
    return v.map((x) => normalize(f, x))
  }
  for (const f of STRING_LIST_FIELDS) {
    const v = strings(f)
    if (v) s[f] = v
  }
  for (const f of ['pfNames', 'rootDevices'] as const) {
    const v = strings(f)
    if (v) s[f] = v.map((entry) => parseIndexRanges(entry, `${where}.${f}`))
  }
  for (const entry of s.pciAddresses ?? []) checkPciAddress(entry, `${where}.pciAddresses`)
  for (const entry of s.rootDevices ?? []) checkPciAddress(entry.written, `${where}.rootDevices`)
  if (o.vdpaType !== undefined && o.vdpaType !== '') {
    if (o.vdpaType !== 'virtio' && o.vdpaType !== 'vhost') throw new ConfigError(`${where}.vdpaType: must be "virtio" or "vhost"`)
    s.vdpaType = o.vdpaType
  }
  for (const f of ['needVhostNet', 'isRdma'] as const) {
    if (o[f] === undefined) continue
    if (typeof o[f] !== 'boolean') throw new ConfigError(`${where}.${f}: expected true or false`)
    s[f] = o[f]
  }
  return s
}

// the selector fields each deviceType has in the Go plugin; it ignores the others, and so do we (with a warning)
const NET_ONLY = ['pciAddresses', 'ddpProfiles', 'pKeys', 'vdpaType'] as const
const AUX_TYPES = ['sf'] // the only auxiliary network devices there are (mlx5 sub-functions)

/** Checks a parsed selector against its resource's deviceType, as the Go plugin validates it; drops the fields that type ignores. */
function checkForDeviceType(s: Selector, deviceType: DeviceType, where: string, warnings: string[]): void {
  const drop = (f: keyof Selector, why: string) => {
    if (s[f] === undefined) return
    warnings.push(`${where}.${f}: ${why}; ignored`)
    delete s[f]
  }
  if (deviceType === 'auxNetDevice') {
    for (const f of NET_ONLY) drop(f, 'not a selector of auxNetDevice resources')
    if (!s.auxTypes?.length) throw new ConfigError(`${where}.auxTypes: an auxNetDevice resource needs auxTypes, e.g. ["sf"]`)
    const bad = s.auxTypes.find((t) => !AUX_TYPES.includes(t))
    if (bad !== undefined) throw new ConfigError(`${where}.auxTypes: ${JSON.stringify(bad)} is not an auxiliary network device type (supported: ${AUX_TYPES.join(', ')})`)
    return
  }
  drop('auxTypes', 'applies to auxNetDevice resources only')
  for (const f of ['pfNames', 'rootDevices'] as const) for (const e of s[f] ?? []) checkIndexes(e, `${where}.${f}`, MAX_VF_INDEX)
  if (deviceType === 'netDevice' && s.isRdma && s.vdpaType !== undefined) throw new ConfigError(`${where}: isRdma and vdpaType cannot be used together (a vDPA device is handed over instead of the VF's RDMA devices)`)
}

/** `additionalInfo`: Go's map[string]map[string]string, with null read as Go reads it (an empty value). */
function parseAdditionalInfo(raw: unknown, where: string): ResourceConfig['additionalInfo'] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
  if (raw === undefined || raw === null) return {}
  if (!isObject(raw)) throw new ConfigError(`${where}: expected an object of PCI address (or "*") to an object of strings`)
  // Object.fromEntries, never out[key] = ...: a key "__proto__" in the ConfigMap stays a plain key
  return Object.fromEntries(
    Object.entries(raw)
      .filter(([, entries]) => entries !== null)
      .map(([device, entries]) => {
        if (!isObject(entries)) throw new ConfigError(`${where}[${JSON.stringify(device)}]: expected an object of strings`)
        const values = Object.entries(entries).map(([k, v]): [string, string] => {
          if (v !== null && typeof v !== 'string') throw new ConfigError(`${where}[${JSON.stringify(device)}].${k}: expected a string, got ${JSON.stringify(v)}`)
          return [k, v ?? '']
        })
        return [device, Object.fromEntries(values)]
      }),
  )
}

function parseDeviceType(v: unknown, where: string): DeviceType {
  if (v === undefined || v === null || v === '') return 'netDevice'
  if (v === 'netDevice' || v === 'netdevice') return 'netDevice' // 2019 configs spell it in lower case
  if (v === 'accelerator' || v === 'auxNetDevice') return v
  throw new ConfigError(`${where}.deviceType: ${JSON.stringify(v)} must be netDevice, accelerator or auxNetDevice`)
}

/**
 * Parses the config as the Go plugin decodes it: keys in any case, unknown keys ignored (and described in
 * `warnings`, one per key, for the caller to log). Throws ConfigError naming the resource and field.
 */
export function parseConfig(text: string, defaultPrefix: string, warnings: string[] = []): ResourceConfig[] {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new ConfigError(`config is not valid JSON: ${(e as Error).message}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('config: expected an object with "resourceList"')
  const unknown = new UnknownKeys()
  const top = matchKeys(raw as Record<string, unknown>, ['resourceList'] as const)
  unknown.add('config', top.unknown)
  // "resourceList": null is what sriov-network-operator renders for a node without policies: no resources
  const list = top.values.resourceList ?? (top.named.has('resourceList') ? [] : undefined)
  if (!Array.isArray(list)) throw new ConfigError('config: "resourceList" must be a list of resources')
  const seen = new Set<string>()
  const resources = list.map((item: unknown, i): ResourceConfig => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new ConfigError(`resourceList[${i}]: expected an object`)
    const { values: r, named, unknown: extra } = matchKeys(item as Record<string, unknown>, RESOURCE_FIELDS)
    const name = r.resourceName
    const where = typeof name === 'string' && name ? `resource "${name}"` : `resourceList[${i}]`
    if (name === undefined || name === null) throw new ConfigError(`${where}.resourceName: missing; every resource needs a name (letters, digits, _ and -)`)
    if (typeof name !== 'string' || !NAME.test(name)) throw new ConfigError(`${where}.resourceName: ${JSON.stringify(name)} must match ${NAME.source}`)
    const prefix = r.resourcePrefix === undefined || r.resourcePrefix === '' ? defaultPrefix : r.resourcePrefix
    if (typeof prefix !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(prefix)) throw new ConfigError(`${where}.resourcePrefix: ${JSON.stringify(prefix)} is not a DNS-style prefix`)
    checkKubeletResourceName(name, prefix, where)
    const full = fullName({ resourcePrefix: prefix, resourceName: name })
    if (seen.has(full)) throw new ConfigError(`${where}: ${full} is defined twice`)
    seen.add(full)
    const deviceType = parseDeviceType(r.deviceType, where)
    // "selectors": null selects nothing it could name: refused below, not read as the 2019 form
    let selectorsRaw = named.has('selectors') ? (r.selectors ?? null) : undefined
    const atResource = matchKeys(Object.fromEntries(extra.map((k) => [k, (item as Record<string, unknown>)[k]])), SELECTOR_FIELDS)
    if (selectorsRaw === undefined) {
      // the 2019 form: selectors written at the resource level
      unknown.add(where, atResource.unknown)
      selectorsRaw = Object.fromEntries(extra.filter((k) => !atResource.unknown.includes(k)).map((k) => [k, (item as Record<string, unknown>)[k]]))
    } else {
      // beside "selectors" the Go plugin ignores such a field and the resource would take more than meant
      const mixed = LIST_FIELDS.find((f) => atResource.values[f] !== undefined)
      if (mixed) throw new ConfigError(`${where}.${mixed}: a selector written at the resource level (the 2019 form) beside "selectors"; move it into "selectors"`)
      unknown.add(where, extra)
    }
    const selectorWhere = (j: number) => (Array.isArray(selectorsRaw) ? `${where}.selectors[${j}]` : `${where}.selectors`)
    const selectors = (Array.isArray(selectorsRaw) ? selectorsRaw : [selectorsRaw]).map((s, j) => parseSelector(s, selectorWhere(j), unknown))
    selectors.forEach((s, j) => checkForDeviceType(s, deviceType, selectorWhere(j), warnings))
    if (r.excludeTopology !== undefined && typeof r.excludeTopology !== 'boolean') throw new ConfigError(`${where}.excludeTopology: expected true or false`)
    return { resourceName: name, resourcePrefix: prefix, deviceType, excludeTopology: r.excludeTopology === true, selectors, additionalInfo: parseAdditionalInfo(r.additionalInfo, `${where}.additionalInfo`) }
  })
  warnings.push(...unknown.warnings())
  return resources
}
