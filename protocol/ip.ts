// IP addresses as (family, bigint) pairs: what range iteration and containment need, formatted exactly as
// Go's net.IP.String() does, because the reference host-local names its lease files that way.
// (ip-cidr would do the parsing, but costs ~19 ms to load in a CNI process whose whole budget is ~10 ms.)

import { isDecimal } from './text-shape'

export type Family = 4 | 6

/** The smallest MTU IPv6 allows (RFC 8200): the kernel turns IPv6 off on a link below it. */
export const IPV6_MIN_MTU = 1280

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

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

// Dotted quad, four decimal octets without leading zeros, as Go's net.ParseIP takes it. Read by hand: V8
// compiles a regular expression on its first two runs, ~0.3 ms of every CNI call for this one.
function parseV4(text: string): bigint | undefined {
  let value = 0
  let octets = 0
  let i = 0
  while (i < text.length) {
    const start = i
    let octet = 0
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57 && i - start < 3; c = text.charCodeAt(++i)) octet = octet * 10 + (c - 48)
    const digits = i - start
    if (digits === 0 || (digits > 1 && text.charCodeAt(start) === 48) || octet > 255) return undefined
    value = value * 256 + octet
    if (++octets === 4) break
    if (text.charCodeAt(i) !== 46) return undefined // '.'
    i++
  }
  return octets === 4 && i === text.length ? BigInt(value) : undefined
}

// node:net's isIP compiles its IPv6 pattern on first use (~6 ms of a CNI call): a plain parser instead
function parseV6(text: string): bigint | undefined {
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (part: string) => (part === '' ? [] : part.split(':'))
  const head = groups(halves[0])
  const tail = halves.length === 2 ? groups(halves[1]) : []
  const all = halves.length === 2 ? [...head, ...tail] : head
  let v4: bigint | undefined
  if (all.length && all[all.length - 1].includes('.')) {
    v4 = parseV4(all[all.length - 1])
    if (v4 === undefined) return undefined
    ;(tail.length ? tail : head).pop()
  }
  const width = (v4 === undefined ? 0 : 2) + head.length + tail.length
  if (halves.length === 2 ? width > 7 : width !== 8) return undefined
  if (![...head, ...tail].every((g) => HEX_GROUP.test(g))) return undefined
  const words = [...head, ...Array(8 - width).fill('0'), ...tail].map((g) => BigInt(parseInt(g, 16)))
  let value = 0n
  for (const w of words) value = (value << 16n) | w
  if (v4 !== undefined) value = (value << 32n) | v4
  return value
}

export function parseIP(text: string): IP | undefined {
  if (!text.includes(':')) {
    const v4 = parseV4(text)
    return v4 === undefined ? undefined : { family: 4, value: v4 }
  }
  const value = parseV6(text)
  if (value === undefined) return undefined
  // An IPv4-mapped IPv6 address is an IPv4 address to Go (To4() != nil), and so to the reference.
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn }
  return { family: 6, value }
}

/** The address family of an address or CIDR already known to be valid (4 when it is not an address at all). */
export function familyOf(addressOrCidr: string): Family {
  const slash = addressOrCidr.indexOf('/')
  return parseIP(slash < 0 ? addressOrCidr : addressOrCidr.slice(0, slash))?.family ?? 4
}

/** The address in network byte order: what the kernel's structs hold (4 or 16 bytes). */
export function ipFromBytes(buf: Buffer): IP {
  let value = 0n
  for (const b of buf) value = (value << 8n) | BigInt(b)
  return { family: buf.length === 4 ? 4 : 6, value }
}

/** The address in network byte order: 4 bytes for IPv4, 16 for IPv6 (what the kernel's structs hold). */
export function ipBytes(ip: IP): Buffer {
  const out = Buffer.alloc(ip.family === 4 ? 4 : 16)
  let v = ip.value
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
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
  if (!ip || !isDecimal(prefixText, 1, 3)) return undefined
  let prefix = Number(prefixText)
  // "::ffff:10.0.0.0/120" style: an IPv4 address written in IPv6 form keeps an IPv6-sized prefix
  if (ip.family === 4 && text.slice(0, slash).includes(':')) prefix -= 96
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

/** The network of `c` in text, host bits cleared: "fd00:88::5/64" is "fd00:88::/64". */
export function formatNetwork(c: Cidr): string {
  return formatCidr({ ip: networkOf(c), prefix: c.prefix })
}

export function sameIP(a: IP, b: IP): boolean {
  return a.family === b.family && a.value === b.value
}
