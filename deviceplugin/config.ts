// The sriovdp-config ConfigMap (/etc/pcidp/config.json): sriov-network-device-plugin's schema, including its
// 2019 form, parsed into typed resources with errors naming the resource and the field.
export type DeviceType = 'netDevice' | 'accelerator' | 'auxNetDevice'

export interface Selector {
  vendors?: string[]
  devices?: string[]
  drivers?: string[]
  pciAddresses?: string[]
  pfNames?: string[]
  rootDevices?: string[]
  linkTypes?: string[]
  acpiIndexes?: string[]
  ddpProfiles?: string[]
  pKeys?: string[]
  vdpaType?: string
  needVhostNet?: boolean
  isRdma?: boolean
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

const NAME = /^[a-zA-Z0-9_-]+$/
const LIST_FIELDS = ['vendors', 'devices', 'drivers', 'pciAddresses', 'pfNames', 'rootDevices', 'linkTypes', 'acpiIndexes', 'ddpProfiles', 'pKeys'] as const
const KNOWN_SELECTOR_FIELDS = new Set<string>([...LIST_FIELDS, 'vdpaType', 'needVhostNet', 'isRdma', 'IsRdma'])

function parseSelector(raw: unknown, where: string): Selector {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${where}: expected an object`)
  const o = raw as Record<string, unknown>
  const s: Selector = {}
  for (const key of Object.keys(o)) {
    if (!KNOWN_SELECTOR_FIELDS.has(key)) throw new ConfigError(`${where}: unknown selector "${key}"`)
  }
  for (const f of LIST_FIELDS) {
    const v = o[f]
    if (v === undefined || v === null) continue
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ConfigError(`${where}.${f}: expected a list of strings`)
    s[f] = v.map((x) => (f === 'vendors' || f === 'devices' ? x.toLowerCase().replace(/^0x/, '') : x))
  }
  for (const f of ['pfNames', 'rootDevices'] as const) for (const entry of s[f] ?? []) parseIndexRanges(entry, `${where}.${f}`)
  if (o.vdpaType !== undefined) {
    if (o.vdpaType !== 'virtio' && o.vdpaType !== 'vhost') throw new ConfigError(`${where}.vdpaType: must be "virtio" or "vhost"`)
    s.vdpaType = o.vdpaType
  }
  if (o.needVhostNet !== undefined) {
    if (typeof o.needVhostNet !== 'boolean') throw new ConfigError(`${where}.needVhostNet: expected true or false`)
    s.needVhostNet = o.needVhostNet
  }
  const rdma = o.isRdma ?? o.IsRdma
  if (rdma !== undefined) {
    if (typeof rdma !== 'boolean') throw new ConfigError(`${where}.isRdma: expected true or false`)
    s.isRdma = rdma
  }
  return s
}

/** `name#0-3,5` → {name, indexes: [0,1,2,3,5]}; no `#` means every VF. */
export function parseIndexRanges(entry: string, where: string): { name: string; indexes?: Set<number> } {
  const hash = entry.indexOf('#')
  if (hash < 0) return { name: entry }
  const name = entry.slice(0, hash)
  const indexes = new Set<number>()
  for (const part of entry.slice(hash + 1).split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim())
    if (!m) throw new ConfigError(`${where}: invalid VF index range "${part}" in "${entry}": use forms like ens1f0#0-3,5`)
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    if (hi < lo) throw new ConfigError(`${where}: range "${part}" in "${entry}" ends before it starts`)
    for (let i = lo; i <= hi; i++) indexes.add(i)
  }
  return { name, indexes }
}

function parseDeviceType(v: unknown, where: string): DeviceType {
  if (v === undefined || v === null || v === '') return 'netDevice'
  if (v === 'netDevice' || v === 'netdevice') return 'netDevice' // 2019 configs spell it in lower case
  if (v === 'accelerator' || v === 'auxNetDevice') return v
  throw new ConfigError(`${where}.deviceType: ${JSON.stringify(v)} must be netDevice, accelerator or auxNetDevice`)
}

export function parseConfig(text: string, defaultPrefix: string): ResourceConfig[] {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new ConfigError(`config is not valid JSON: ${(e as Error).message}`)
  }
  const list = (raw as { resourceList?: unknown })?.resourceList
  if (!Array.isArray(list)) throw new ConfigError('config: "resourceList" must be a list of resources')
  const seen = new Set<string>()
  return list.map((r: Record<string, unknown>, i) => {
    const name = r?.resourceName
    const where = typeof name === 'string' && name ? `resource "${name}"` : `resourceList[${i}]`
    if (typeof name !== 'string' || !NAME.test(name)) throw new ConfigError(`${where}.resourceName: ${JSON.stringify(name)} must match ${NAME.source}`)
    const prefix = r.resourcePrefix === undefined || r.resourcePrefix === '' ? defaultPrefix : r.resourcePrefix
    if (typeof prefix !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(prefix)) throw new ConfigError(`${where}.resourcePrefix: ${JSON.stringify(prefix)} is not a DNS-style prefix`)
    const full = `${prefix}/${name}`
    if (seen.has(full)) throw new ConfigError(`${where}: ${full} is defined twice`)
    seen.add(full)
    const deviceType = parseDeviceType(r.deviceType, where)
    let selectorsRaw = r.selectors
    if (selectorsRaw === undefined) {
      // the 2019 form: selectors written at the resource level
      const legacy: Record<string, unknown> = {}
      for (const k of Object.keys(r)) if (KNOWN_SELECTOR_FIELDS.has(k)) legacy[k] = r[k]
      selectorsRaw = legacy
    }
    const selectors = (Array.isArray(selectorsRaw) ? selectorsRaw : [selectorsRaw]).map((s, j) => parseSelector(s, Array.isArray(selectorsRaw) ? `${where}.selectors[${j}]` : `${where}.selectors`))
    if (r.excludeTopology !== undefined && typeof r.excludeTopology !== 'boolean') throw new ConfigError(`${where}.excludeTopology: expected true or false`)
    const info = r.additionalInfo ?? {}
    if (typeof info !== 'object' || info === null || Array.isArray(info)) throw new ConfigError(`${where}.additionalInfo: expected an object`)
    return { resourceName: name, resourcePrefix: prefix, deviceType, excludeTopology: r.excludeTopology === true, selectors, additionalInfo: info as ResourceConfig['additionalInfo'] }
  })
}
