// The host-local IPAM config (the `ipam` section plus the top-level fields host-local reads), parsed once.
import path = require('node:path')
import type { CniEnv } from '../protocol/env'
import { CniError, ErrorCode } from '../protocol/errors'
import { validateNetworkName } from '../protocol/names'
import type { NetConf } from '../protocol/netconf'
import type { Route } from '../protocol/result'
import { compareVersions } from '../protocol/version'
import { formatCidr, formatIP, formatNetwork, networkOf, parseCidr, parseIP, type IP } from '../protocol/ip'
import { parseRangeSet, rangeSetsOverlap, type RangeSet } from './range'

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks'

export interface HostLocalConfig {
  name: string // network name: the store directory under dataDir
  cniVersion: string
  dataDir: string
  rangeSets: RangeSet[]
  routes: Route[]
  resolvConf?: string
  requestedIPs: IP[] // from CNI_ARGS IP=, args.cni.ips and runtimeConfig.ips, in that order
}

const invalid = (msg: string) => new CniError(ErrorCode.InvalidConfig, msg)

function requestedIP(text: unknown, where: string): IP {
  // The reference accepts an address or a CIDR (the "ips" capability passes "10.1.2.3/24")
  const s = typeof text === 'string' ? text : ''
  const ip = parseIP(s) ?? parseCidr(s)?.ip
  if (!ip) throw invalid(`${where}: cannot understand ip ${JSON.stringify(text)}`)
  return ip
}

function listOf(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw invalid(`${where}: expected a list`)
  return v
}

function parseRoutes(v: unknown): Route[] {
  return listOf(v, 'ipam.routes').map((r, i) => {
    const o = (r ?? {}) as Record<string, unknown>
    const dst = typeof o.dst === 'string' ? parseCidr(o.dst) : undefined
    if (!dst) throw invalid(`ipam.routes[${i}].dst: invalid ${JSON.stringify(o.dst)}: expected CIDR notation`)
    const text = o.dst as string
    // "::ffff:10.9.0.0/112" would be installed as IPv4 10.9.0.0/16 (Go sends it as IPv4 /112: the kernel refuses)
    if (dst.ip.family === 4 && text.slice(0, text.indexOf('/')).includes(':')) throw invalid(`ipam.routes[${i}].dst: ${JSON.stringify(text)} is an IPv4 network in IPv6 notation: write it as IPv4`)
    // the kernel refuses an IPv4 destination with host bits set (it masks IPv6 ones): say so before anything changes
    if (dst.ip.family === 4 && networkOf(dst).value !== dst.ip.value) throw invalid(`ipam.routes[${i}].dst: ${JSON.stringify(text)} has host bits set: the network is ${formatNetwork(dst)}`)
    // canonical text, as Go's host-local prints it ("FD00:88:0::/64" is "fd00:88::/64")
    const route: Route = { dst: formatCidr(dst) }
    if (o.gw !== undefined && o.gw !== null && o.gw !== '') {
      const gw = typeof o.gw === 'string' ? parseIP(o.gw) : undefined
      if (!gw) throw invalid(`ipam.routes[${i}].gw: invalid ${JSON.stringify(o.gw)}: expected an IP address`)
      route.gw = formatIP(gw)
    }
    return route
  })
}

export type LeaseStoreLocation = Pick<HostLocalConfig, 'dataDir' | 'name'>

/**
 * Where this network's leases are, which is all a release needs: a DEL with a config that ADD refuses (bad
 * ranges, routes or requested IPs) still releases. Undefined when no store can exist: nothing was allocated.
 */
export function leaseStoreOf(conf: NetConf): LeaseStoreLocation | undefined {
  const dataDir = conf.ipam?.dataDir === undefined || conf.ipam.dataDir === '' ? DEFAULT_DATA_DIR : conf.ipam.dataDir
  return typeof dataDir === 'string' && path.isAbsolute(dataDir) ? { dataDir, name: conf.name } : undefined
}

export function parseHostLocal(conf: NetConf, env: Pick<CniEnv, 'args'>): HostLocalConfig {
  validateNetworkName(conf.name)
  const ipam = conf.ipam
  if (!ipam) throw invalid("IPAM config missing 'ipam' key")
  const dataDir = ipam.dataDir === undefined || ipam.dataDir === '' ? DEFAULT_DATA_DIR : ipam.dataDir
  if (typeof dataDir !== 'string' || !path.isAbsolute(dataDir)) throw invalid(`ipam.dataDir: invalid ${JSON.stringify(dataDir)}: expected an absolute path`)
  if (ipam.resolvConf !== undefined && typeof ipam.resolvConf !== 'string') throw invalid('ipam.resolvConf: expected a file path')

  const requestedIPs: IP[] = []
  if (env.args.IP) requestedIPs.push(...env.args.IP.split(',').map((s) => requestedIP(s, 'CNI_ARGS IP')))
  const cniArgs = (conf.args?.cni ?? {}) as Record<string, unknown>
  requestedIPs.push(...listOf(cniArgs.ips, 'args.cni.ips').map((s, i) => requestedIP(s, `args.cni.ips[${i}]`)))
  const rc = conf.runtimeConfig ?? {}
  requestedIPs.push(...listOf(rc.ips, 'runtimeConfig.ips').map((s, i) => requestedIP(s, `runtimeConfig.ips[${i}]`)))

  const rawSets: { raw: unknown; where: string }[] = []
  listOf(rc.ipRanges, 'runtimeConfig.ipRanges').forEach((s, i) => rawSets.push({ raw: s, where: `runtimeConfig.ipRanges[${i}]` }))
  if (typeof ipam.subnet === 'string' && ipam.subnet !== '') {
    const legacy = { subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }
    rawSets.push({ raw: [legacy], where: 'ipam' })
  }
  listOf(ipam.ranges, 'ipam.ranges').forEach((s, i) => rawSets.push({ raw: s, where: `ipam.ranges[${i}]` }))
  if (rawSets.length === 0) throw invalid('no IP ranges specified: set ipam.ranges (or ipam.subnet)')
  const rangeSets = rawSets.map(({ raw, where }) => parseRangeSet(raw, where))

  const perFamily = { 4: 0, 6: 0 }
  for (const set of rangeSets) perFamily[set[0].rangeStart.family]++
  if ((perFamily[4] > 1 || perFamily[6] > 1) && compareVersions(conf.cniVersion, '0.3.0') < 0) {
    throw invalid(`CNI version ${conf.cniVersion} does not support more than 1 address per family`)
  }
  for (let i = 0; i < rangeSets.length; i++) {
    for (let j = i + 1; j < rangeSets.length; j++) {
      if (rangeSetsOverlap(rangeSets[i], rangeSets[j])) throw invalid(`range set ${i} overlaps with ${j}`)
    }
  }
  const out: HostLocalConfig = {
    name: conf.name,
    cniVersion: conf.cniVersion,
    dataDir,
    rangeSets,
    routes: parseRoutes(ipam.routes),
    requestedIPs,
  }
  if (ipam.resolvConf) out.resolvConf = ipam.resolvConf as string
  return out
}
