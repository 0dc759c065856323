// Ranges and range sets with the reference host-local's defaults and validations.
import { CniError, ErrorCode } from '../protocol/errors'
import { bits, broadcastOf, cidrContains, formatCidr, formatIP, formatNetwork, networkOf, parseCidr, parseIP, sameIP, type Cidr, type IP } from '../protocol/ip'

export interface Range {
  subnet: Cidr
  rangeStart: IP
  rangeEnd: IP
  gateway: IP
}

export type RangeSet = Range[]

const invalid = (msg: string) => new CniError(ErrorCode.InvalidConfig, msg)

function ipField(raw: Record<string, unknown>, key: string, where: string): IP | undefined {
  const v = raw[key]
  if (v === undefined || v === null || v === '') return undefined
  const ip = typeof v === 'string' ? parseIP(v) : undefined
  if (!ip) throw invalid(`${where}: invalid ${key} ${JSON.stringify(v)}: expected an IP address`)
  return ip
}

export function inRange(r: Pick<Range, 'subnet'> & Partial<Range>, ip: IP): string | undefined {
  const subnet = formatNetwork(r.subnet)
  if (ip.family !== r.subnet.ip.family) return `IP ${formatIP(ip)} is not the same protocol as subnet ${subnet}`
  if (!cidrContains(r.subnet, ip)) return `${formatIP(ip)} not in network ${subnet}`
  if (r.rangeStart && ip.value < r.rangeStart.value) return `${formatIP(ip)} is in network ${subnet} but before start ${formatIP(r.rangeStart)}`
  if (r.rangeEnd && ip.value > r.rangeEnd.value) return `${formatIP(ip)} is in network ${subnet} but after end ${formatIP(r.rangeEnd)}`
  return undefined
}

/** One `{subnet, rangeStart, rangeEnd, gateway}` object, defaults filled in, every reference check applied. */
export function parseRange(raw: unknown, where: string): Range {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${where}: expected an object with "subnet"`)
  const o = raw as Record<string, unknown>
  if (typeof o.subnet !== 'string' || o.subnet === '') throw invalid(`${where}: missing "subnet"`)
  const subnet = parseCidr(o.subnet)
  if (!subnet) throw invalid(`${where}: invalid subnet ${JSON.stringify(o.subnet)}: expected CIDR notation such as 10.1.0.0/24`)
  // Go's host-local refuses it too ("IPNet IP and Mask version mismatch"); taken, it was an IPv4 range
  if (subnet.ip.family === 4 && o.subnet.slice(0, o.subnet.indexOf('/')).includes(':')) {
    throw invalid(`${where}: subnet ${JSON.stringify(o.subnet)} is an IPv4 network in IPv6 notation: write it as IPv4`)
  }
  const width = bits(subnet.ip.family)
  if (subnet.prefix > width - 2) throw invalid(`${where}: network ${o.subnet} too small to allocate from`)
  const network = networkOf(subnet)
  if (!sameIP(network, subnet.ip)) {
    throw invalid(`${where}: network ${o.subnet} has host bits set: for a prefix of ${subnet.prefix} the network address is ${formatIP(network)}`)
  }
  const r: Partial<Range> & Pick<Range, 'subnet'> = { subnet }
  const gateway = ipField(o, 'gateway', where)
  if (gateway && !cidrContains(subnet, gateway)) throw invalid(`${where}: gateway ${formatIP(gateway)} not in network ${o.subnet}`)
  const next = { family: subnet.ip.family, value: network.value + 1n }
  const start = ipField(o, 'rangeStart', where)
  if (start) {
    const why = inRange(r, start)
    if (why) throw invalid(`${where}: rangeStart: ${why}`)
  }
  r.rangeStart = start ?? next
  const end = ipField(o, 'rangeEnd', where)
  if (end) {
    const why = inRange(r, end)
    if (why) throw invalid(`${where}: rangeEnd: ${why}`)
  }
  const last = broadcastOf(subnet)
  r.rangeEnd = end ?? (subnet.ip.family === 4 ? { family: 4, value: last.value - 1n } : last)
  r.gateway = gateway ?? next
  return r as Range
}

export function rangesOverlap(a: Range, b: Range): boolean {
  if (a.rangeStart.family !== b.rangeStart.family) return false
  return !inRange(a, b.rangeStart) || !inRange(a, b.rangeEnd) || !inRange(b, a.rangeStart) || !inRange(b, a.rangeEnd)
}

export function rangeToString(r: Range): string {
  return `${formatIP(r.rangeStart)}-${formatIP(r.rangeEnd)}`
}

export function rangeSetToString(set: RangeSet): string {
  return set.map(rangeToString).join(',')
}

export function parseRangeSet(raw: unknown, where: string): RangeSet {
  if (!Array.isArray(raw)) throw invalid(`${where}: expected a list of ranges`)
  if (raw.length === 0) throw invalid(`${where}: empty range set`)
  const set = raw.map((r, i) => parseRange(r, `${where}[${i}]`))
  for (let i = 1; i < set.length; i++) {
    if (set[i].rangeStart.family !== set[0].rangeStart.family) throw invalid(`${where}: mixed address families in one range set`)
  }
  for (let i = 0; i < set.length; i++) {
    for (let j = i + 1; j < set.length; j++) {
      if (rangesOverlap(set[i], set[j])) throw invalid(`${where}: subnets ${formatCidr(set[i].subnet)} and ${formatCidr(set[j].subnet)} overlap`)
    }
  }
  return set
}

export function rangeSetContains(set: RangeSet, ip: IP): Range | undefined {
  return set.find((r) => !inRange(r, ip))
}

export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((x) => b.some((y) => rangesOverlap(x, y)))
}
