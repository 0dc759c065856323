// IP addresses as (family, bigint) pairs: what range iteration and containment need, formatted exactly as
// Go's net.IP.String() does, because the reference host-local names its lease files that way.
// (ip-cidr would do the parsing, but costs ~19 ms to load in a CNI process whose whole budget is ~10 ms.)
import net from 'node:net'

export type Family = 4 | 6

export interface IP {
  family: Family
  value: bigint
}

export interface Cidr {
  ip: IP // the address as written (host bits kept, as the reference does)
  prefix: number
}

export function bits(family: Family): number {
  return family === 4 ? 32 : 128
}

export function parseIP(text: string): IP | undefined {
  const kind = net.isIP(text)
  if (kind === 4) {
    const parts = text.split('.').map(Number)
    return { family: 4, value: BigInt(((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3]) }
  }
  if (kind !== 6) return undefined
  let head = text
  let v4tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  if (text.slice(lastColon + 1).includes('.')) {
    v4tail = text.slice(lastColon + 1).split('.').map(Number)
    head = text.slice(0, lastColon + 1) + '0:0'
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined]
  const l = left ? left.split(':') : []
  const r = right !== undefined && right !== '' ? right.split(':') : []
  const groups = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r]
  let value = 0n
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16))
  if (v4tail.length) value = (value & ~0xffffffffn) | BigInt(((v4tail[0] << 24) >>> 0) + (v4tail[1] << 16) + (v4tail[2] << 8) + v4tail[3])
  // An IPv4-mapped IPv6 address is an IPv4 address to Go (To4() != nil), and so to the reference.
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn }
  return { family: 6, value }
}

export function formatIP(ip: IP): string {
  if (ip.family === 4) {
    const v = Number(ip.value)
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`
  }
  const groups: number[] = []
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn))
  // RFC 5952 as Go does it: the longest run (first on a tie) of two or more zero groups becomes "::"
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':')
  if (bestStart < 0) return hex(groups)
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/')
  if (slash < 0) return undefined
  const ip = parseIP(text.slice(0, slash))
  const prefixText = text.slice(slash + 1)
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined
  let prefix = Number(prefixText)
  // "::ffff:10.0.0.0/120" style: an IPv4 address written in IPv6 form keeps an IPv6-sized prefix
  if (ip.family === 4 && net.isIPv6(text.slice(0, slash))) prefix -= 96
  if (prefix < 0 || prefix > bits(ip.family)) return undefined
  return { ip, prefix }
}

export function mask(family: Family, prefix: number): bigint {
  const width = BigInt(bits(family))
  return ((1n << width) - 1n) ^ ((1n << (width - BigInt(prefix))) - 1n)
}

export function networkOf(c: Cidr): IP {
  return { family: c.ip.family, value: c.ip.value & mask(c.ip.family, c.prefix) }
}

export function broadcastOf(c: Cidr): IP {
  return { family: c.ip.family, value: networkOf(c).value | (((1n << BigInt(bits(c.ip.family))) - 1n) ^ mask(c.ip.family, c.prefix)) }
}

export function cidrContains(c: Cidr, ip: IP): boolean {
  return ip.family === c.ip.family && (ip.value & mask(ip.family, c.prefix)) === networkOf(c).value
}

export function formatCidr(c: Cidr): string {
  return `${formatIP(c.ip)}/${c.prefix}`
}

export function sameIP(a: IP, b: IP): boolean {
  return a.family === b.family && a.value === b.value
}
