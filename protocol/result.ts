// The result types (spec 1.1 shape, the internal form) and conversion to and from every older version.
import { CniError, ErrorCode } from './errors'
import { familyOf, parseCidr, parseIP } from './ip'
import { compareVersions, isSupportedVersion } from './version'

export interface Interface {
  name: string
  mac?: string
  mtu?: number
  sandbox?: string
  socketPath?: string
  pciID?: string
}
export interface IPConfig {
  address: string // CIDR
  gateway?: string
  interface?: number
}
export interface Route {
  dst: string
  gw?: string
  mtu?: number
  advmss?: number
  priority?: number
  table?: number
  scope?: number
}
export interface DNS {
  nameservers?: string[]
  domain?: string
  search?: string[]
  options?: string[]
}
export interface Result {
  cniVersion: string
  interfaces?: Interface[]
  ips?: IPConfig[]
  routes?: Route[]
  dns?: DNS
}

type Json = Record<string, unknown>

function compactDns(dns: DNS | undefined): DNS {
  const out: DNS = {}
  if (dns?.nameservers?.length) out.nameservers = dns.nameservers
  if (dns?.domain) out.domain = dns.domain
  if (dns?.search?.length) out.search = dns.search
  if (dns?.options?.length) out.options = dns.options
  return out
}

/** Converts an internal result to the JSON a runtime expects for `version`. */
export function toVersion(result: Result, version: string): Json {
  if (!isSupportedVersion(version)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `cannot convert result to unsupported cniVersion ${version}`)
  }
  const ips = result.ips ?? []
  const routes = result.routes ?? []
  if (compareVersions(version, '0.3.0') < 0) {
    // 0.1.0/0.2.0: one ip4 and one ip6 block; routes go with their family
    const out: Json = { cniVersion: version }
    for (const fam of [4, 6] as const) {
      const ip = ips.find((i) => familyOf(i.address) === fam)
      if (!ip) continue
      const block: Json = { ip: ip.address }
      if (ip.gateway) block.gateway = ip.gateway
      const famRoutes = routes.filter((r) => familyOf(r.dst) === fam).map((r) => (r.gw ? { dst: r.dst, gw: r.gw } : { dst: r.dst }))
      if (famRoutes.length) block.routes = famRoutes
      out[`ip${fam}`] = block
    }
    out.dns = compactDns(result.dns)
    return out
  }
  const modern = compareVersions(version, '1.0.0') >= 0
  const out: Json = { cniVersion: version }
  if (result.interfaces?.length) {
    out.interfaces = result.interfaces.map((i) => {
      const o: Json = { name: i.name }
      if (i.mac) o.mac = i.mac
      if (modern && i.mtu) o.mtu = i.mtu
      if (i.sandbox) o.sandbox = i.sandbox
      if (modern && i.socketPath) o.socketPath = i.socketPath
      if (modern && i.pciID) o.pciID = i.pciID
      return o
    })
  }
  if (ips.length) {
    out.ips = ips.map((ip) => {
      const o: Json = {}
      if (!modern) o.version = String(familyOf(ip.address))
      if (ip.interface !== undefined) o.interface = ip.interface
      o.address = ip.address
      if (ip.gateway) o.gateway = ip.gateway
      return o
    })
  }
  if (routes.length) {
    out.routes = routes.map((r) => {
      const o: Json = { dst: r.dst }
      if (r.gw) o.gw = r.gw
      if (modern) {
        for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) if (r[k] !== undefined) o[k] = r[k]
      }
      return o
    })
  }
  out.dns = compactDns(result.dns)
  return out
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new CniError(ErrorCode.DecodeFailure, `invalid result: ${field} must be a string`)
  return v
}

function optStr(v: unknown, field: string): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : str(v, field)
}

// Values the plugin will act on (addresses to configure, routes to add): refused with code 7 when unusable
function cidr(v: unknown, field: string): string {
  const text = str(v, field)
  if (!parseCidr(text)) throw new CniError(ErrorCode.InvalidConfig, `invalid result: ${field} ${JSON.stringify(text)} is not an address with a prefix length`)
  return text
}

function optIp(v: unknown, field: string): string | undefined {
  const text = optStr(v, field)
  if (text !== undefined && !parseIP(text)) throw new CniError(ErrorCode.InvalidConfig, `invalid result: ${field} ${JSON.stringify(text)} is not an IP address`)
  return text
}

function optNum(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number') throw new CniError(ErrorCode.DecodeFailure, `invalid result: ${field} must be a number`)
  return v
}

function parseRoutes(v: unknown, field: string): Route[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new CniError(ErrorCode.DecodeFailure, `invalid result: ${field} must be a list`)
  return v.map((r: Json, i) => {
    const route: Route = { dst: cidr(r?.dst, `${field}[${i}].dst`) }
    const gw = optIp(r.gw, `${field}[${i}].gw`)
    if (gw) route.gw = gw
    for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
      const n = optNum(r[k], `${field}[${i}].${k}`)
      if (n !== undefined) route[k] = n
    }
    return route
  })
}

function parseDns(v: unknown): DNS | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object') throw new CniError(ErrorCode.DecodeFailure, 'invalid result: dns must be an object')
  const d = v as Json
  const list = (x: unknown, f: string) => (x === undefined || x === null ? undefined : (x as unknown[]).map((s, i) => str(s, `dns.${f}[${i}]`)))
  const out: DNS = {}
  const ns = list(d.nameservers, 'nameservers')
  if (ns?.length) out.nameservers = ns
  const domain = optStr(d.domain, 'dns.domain')
  if (domain) out.domain = domain
  const search = list(d.search, 'search')
  if (search?.length) out.search = search
  const options = list(d.options, 'options')
  if (options?.length) out.options = options
  return out
}

/** Up-converts a result of `version` (a prevResult, or a delegated IPAM plugin's output) to the internal form. */
export function fromVersion(obj: unknown, version: string): Result {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new CniError(ErrorCode.DecodeFailure, 'invalid result: expected a JSON object')
  }
  const o = obj as Json
  const result: Result = { cniVersion: version }
  if (compareVersions(version, '0.3.0') < 0 && isSupportedVersion(version)) {
    const ips: IPConfig[] = []
    const routes: Route[] = []
    for (const fam of ['ip4', 'ip6']) {
      const block = o[fam] as Json | undefined
      if (!block) continue
      const ip: IPConfig = { address: cidr(block.ip, `${fam}.ip`) }
      const gw = optIp(block.gateway, `${fam}.gateway`)
      if (gw) ip.gateway = gw
      ips.push(ip)
      routes.push(...parseRoutes(block.routes, `${fam}.routes`))
    }
    if (ips.length) result.ips = ips
    if (routes.length) result.routes = routes
  } else {
    if (o.interfaces !== undefined && o.interfaces !== null) {
      if (!Array.isArray(o.interfaces)) throw new CniError(ErrorCode.DecodeFailure, 'invalid result: interfaces must be a list')
      result.interfaces = o.interfaces.map((x: Json, i) => {
        const itf: Interface = { name: str(x?.name, `interfaces[${i}].name`) }
        const mac = optStr(x.mac, `interfaces[${i}].mac`)
        if (mac) itf.mac = mac
        const mtu = optNum(x.mtu, `interfaces[${i}].mtu`)
        if (mtu) itf.mtu = mtu
        const sandbox = optStr(x.sandbox, `interfaces[${i}].sandbox`)
        if (sandbox) itf.sandbox = sandbox
        const socketPath = optStr(x.socketPath, `interfaces[${i}].socketPath`)
        if (socketPath) itf.socketPath = socketPath
        const pciID = optStr(x.pciID, `interfaces[${i}].pciID`)
        if (pciID) itf.pciID = pciID
        return itf
      })
    }
    if (o.ips !== undefined && o.ips !== null) {
      if (!Array.isArray(o.ips)) throw new CniError(ErrorCode.DecodeFailure, 'invalid result: ips must be a list')
      result.ips = o.ips.map((x: Json, i) => {
        const ip: IPConfig = { address: cidr(x?.address, `ips[${i}].address`) }
        const gw = optIp(x.gateway, `ips[${i}].gateway`)
        if (gw) ip.gateway = gw
        const itf = optNum(x.interface, `ips[${i}].interface`)
        if (itf !== undefined) {
          const count = result.interfaces?.length ?? 0
          if (!Number.isInteger(itf) || itf < 0 || itf >= count) {
            throw new CniError(ErrorCode.InvalidConfig, `invalid result: ips[${i}].interface ${itf} is not the index of one of its ${count} interfaces`)
          }
          ip.interface = itf
        }
        return ip
      })
    }
    const routes = parseRoutes(o.routes, 'routes')
    if (routes.length) result.routes = routes
  }
  const dns = parseDns(o.dns)
  if (dns && Object.keys(dns).length) result.dns = dns
  return result
}
