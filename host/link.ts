// Links, addresses and routes over rtnetlink (host/rtnetlink.ts), in whichever namespace the socket belongs to.
import { attrList, cString, NLA_F_NESTED, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, parseAttrs, readString, Rtnl, u32, type Attr, type AttrView, type NlMessage } from './rtnetlink'
import { formatIP, ipBytes, ipFromBytes, parseCidr, parseIP } from '../protocol/ip'
import type { Netns } from './netns'
import type { SendOptions } from './netlink-socket'

export type { Rtnl }

export interface LinkInfo {
  index: number
  name: string
  mac: string
  mtu: number
  up: boolean
  running: boolean // up with carrier (IFF_RUNNING)
  parentDev?: string // the device under the link (a VF's PCI address; none for a veth), kernels 5.15+
  altnames: string[] // alternative names (`ip link property add ... altname`), as byte strings (see byteString): taken like names, they move with the link
  kind?: string // the link type a link created through rtnetlink has ("veth", "bridge"...); none for a NIC's own netdev, a VF's included
}

const AF_INET = 2
const AF_INET6 = 10
const RT_TABLE_MAIN = 254
const RTPROT_BOOT = 3
const RT_SCOPE_LINK = 253
const RTN_UNICAST = 1
export const IFF_UP = 1
const IFF_RUNNING = 0x40
// getLink: no such link
const ENODEV = 19

export const RTM_NEWLINK = 16
const RTM_GETLINK = 18
const RTM_SETLINK = 19
const RTM_NEWADDR = 20
const RTM_GETADDR = 22
const RTM_NEWROUTE = 24
const RTM_GETROUTE = 26
const RTM_NEWLINKPROP = 108
const RTM_DELLINKPROP = 109

export const IFLA = { ADDRESS: 1, IFNAME: 3, MTU: 4, LINKINFO: 18, VFINFO_LIST: 22, NET_NS_FD: 28, EXT_MASK: 29, CARRIER: 33, PROP_LIST: 52, ALT_IFNAME: 53, PARENT_DEV_NAME: 56 } as const
const IFLA_INFO_KIND = 1
const IFA = { ADDRESS: 1, LOCAL: 2 } as const
const RTA = { DST: 1, OIF: 4, GATEWAY: 5, TABLE: 15 } as const

export function formatMac(buf: Buffer | undefined): string {
  return buf ? [...buf].map((b) => b.toString(16).padStart(2, '0')).join(':') : ''
}

export function parseMac(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)))
}

/** A rtnetlink socket in `ns` (created inside it), or in the caller's namespace. */
export function openRtnl(ns?: Netns): Rtnl {
  const create = () => new Rtnl()
  return ns ? ns.run(create) : create()
}

export function closeRtnl(sock: Rtnl): void {
  sock.close()
}

/** struct ifinfomsg: family, type, index, flags, change. */
function ifinfo(index = 0, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16)
  b.writeInt32LE(index, 4)
  b.writeUInt32LE(flags >>> 0, 8)
  b.writeUInt32LE(change >>> 0, 12)
  return b
}

/** A RTM_NEWLINK message: its ifinfomsg fields and attributes by type. */
export interface LinkMessage {
  index: number
  flags: number
  attrs: AttrView
}

export function parseLink(m: NlMessage): LinkMessage {
  return { index: m.payload.readInt32LE(4), flags: m.payload.readUInt32LE(8), attrs: parseAttrs(m.payload.subarray(16)) }
}

function toInfo(m: LinkMessage): LinkInfo {
  return {
    index: m.index,
    name: readString(m.attrs.get(IFLA.IFNAME)) ?? '',
    mac: formatMac(m.attrs.get(IFLA.ADDRESS)),
    mtu: m.attrs.get(IFLA.MTU)?.readUInt32LE(0) ?? 0,
    up: !!(m.flags & IFF_UP),
    running: !!(m.flags & IFF_RUNNING),
    parentDev: readString(m.attrs.get(IFLA.PARENT_DEV_NAME)),
    altnames: altnamesOf(m.attrs.get(IFLA.PROP_LIST)),
    kind: kindOf(m.attrs.get(IFLA.LINKINFO)),
  }
}

function kindOf(linkInfo: Buffer | undefined): string | undefined {
  return linkInfo ? readString(attrList(linkInfo).find(([type]) => type === IFLA_INFO_KIND)?.[1]) : undefined
}

function altnamesOf(propList: Buffer | undefined): string[] {
  return propList ? attrList(propList).filter(([type]) => type === IFLA.ALT_IFNAME).map(([, v]) => readString(v, 'latin1')!) : []
}

/**
 * A name as the kernel holds it, one character per byte: altnames are kept so, since a pod may give its link one
 * that is not UTF-8, and a name decoded lossily could never be deleted again (the kernel would not know it).
 */
export const byteString = (name: string): string => Buffer.from(name, 'utf8').toString('latin1')

/** The link named `name` or with index `index`, with extra attributes asked for; undefined when there is none. */
export async function getLink(sock: Rtnl, ref: { index?: number; name?: string }, extra: Attr[] = []): Promise<LinkMessage | undefined> {
  const attrs = ref.name !== undefined ? [{ type: IFLA.IFNAME, value: cString(ref.name) }, ...extra] : extra
  const answer = await sock.requestExpecting([ENODEV], RTM_GETLINK, 0, ifinfo(ref.index ?? 0), attrs)
  return typeof answer !== 'number' && answer[0] ? parseLink(answer[0]) : undefined
}

/** Every link of the socket's namespace. */
export async function getLinks(sock: Rtnl): Promise<LinkMessage[]> {
  return (await sock.request(RTM_GETLINK, NLM_F_DUMP, ifinfo())).filter((m) => m.type === RTM_NEWLINK).map(parseLink)
}

/** RTM_SETLINK on the link with `index` (or, with index 0, the one an IFLA_IFNAME attribute names). */
export async function setLink(sock: Rtnl, index: number, attrs: Attr[], flags = 0, change = 0, options: SendOptions = {}): Promise<void> {
  await sock.request(RTM_SETLINK, 0, ifinfo(index, flags, change), attrs, options)
}

export async function linkByName(sock: Rtnl, name: string): Promise<LinkInfo | undefined> {
  const m = await getLink(sock, { name })
  return m && toInfo(m)
}

/**
 * The link that has `name` (a byte string) as its name or one of its alternative names, asked by IFLA_ALT_IFNAME:
 * an altname may be up to 127 bytes, and the kernel refuses an IFLA_IFNAME over 15 with ERANGE.
 */
export async function linkByAnyName(sock: Rtnl, name: string): Promise<LinkInfo | undefined> {
  const m = await getLink(sock, {}, [{ type: IFLA.ALT_IFNAME, value: cString(name, 'latin1') }])
  return m && toInfo(m)
}

export async function linkByIndex(sock: Rtnl, index: number): Promise<LinkInfo | undefined> {
  const m = await getLink(sock, { index })
  return m && toInfo(m)
}

export async function setLinkUp(sock: Rtnl, index: number, up: boolean): Promise<void> {
  await setLink(sock, index, [], up ? IFF_UP : 0, IFF_UP)
}

export async function renameLink(sock: Rtnl, index: number, name: string): Promise<void> {
  await setLink(sock, index, [{ type: IFLA.IFNAME, value: cString(name) }])
}

export async function setLinkMac(sock: Rtnl, index: number, mac: string): Promise<void> {
  await setLink(sock, index, [{ type: IFLA.ADDRESS, value: parseMac(mac) }])
}

export async function setLinkMtu(sock: Rtnl, index: number, mtu: number): Promise<void> {
  await setLink(sock, index, [{ type: IFLA.MTU, value: u32(mtu) }])
}

/** Adds alternative names (byte strings) to the link (RTM_NEWLINKPROP). */
export async function addAltnames(sock: Rtnl, index: number, names: string[]): Promise<void> {
  await sock.request(RTM_NEWLINKPROP, 0, ifinfo(index), [altnameList(names)])
}

/** Removes alternative names (byte strings) from the link (RTM_DELLINKPROP). */
export async function deleteAltnames(sock: Rtnl, index: number, names: string[]): Promise<void> {
  await sock.request(RTM_DELLINKPROP, 0, ifinfo(index), [altnameList(names)])
}

const altnameList = (names: string[]): Attr => ({ type: IFLA.PROP_LIST | NLA_F_NESTED, value: names.map((n) => ({ type: IFLA.ALT_IFNAME, value: cString(n, 'latin1') })) })

/**
 * Moves the link into `target` (keeping its index when that is free there), renamed `name` there if given. With
 * a name the kernel renames the link once it has landed, or, when its current name is taken there, lands it
 * under `name` at once; a `name` taken there fails the rename after the move (EEXIST, the link moved). Sent in
 * the background: the kernel takes ~20 ms over a move, which the caller may spend on work of its own.
 */
export async function moveLink(sock: Rtnl, index: number, target: Netns, name?: string): Promise<void> {
  const ns = { type: IFLA.NET_NS_FD, value: u32(target.descriptor()) }
  await setLink(sock, index, name === undefined ? [ns] : [ns, { type: IFLA.IFNAME, value: cString(name) }], 0, 0, { background: true })
}

/** The kernel's address family of a valid address or CIDR, and the address's bytes. */
function kernelIp(text: string): { family: number; bytes: Buffer; prefix?: number } {
  const cidr = parseCidr(text)
  const ip = cidr?.ip ?? parseIP(text)
  if (!ip) throw new Error(`${JSON.stringify(text)} is not an IP address`)
  return { family: ip.family === 6 ? AF_INET6 : AF_INET, bytes: ipBytes(ip), prefix: cidr?.prefix }
}

export async function addAddress(sock: Rtnl, index: number, cidr: string): Promise<void> {
  const { family, bytes, prefix } = kernelIp(cidr)
  const v6 = family === AF_INET6
  // struct ifaddrmsg: family, prefixlen, flags, scope, index
  const hdr = Buffer.alloc(8)
  hdr.writeUInt8(family, 0)
  hdr.writeUInt8(prefix ?? (v6 ? 128 : 32), 1)
  hdr.writeUInt32LE(index, 4)
  const attrs: Attr[] = v6 ? [{ type: IFA.ADDRESS, value: bytes }] : [{ type: IFA.LOCAL, value: bytes }, { type: IFA.ADDRESS, value: bytes }]
  await sock.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, hdr, attrs)
}

/** CIDRs on the link, global scope only. */
export async function listAddresses(sock: Rtnl, index: number): Promise<string[]> {
  const out: string[] = []
  for (const m of await sock.request(RTM_GETADDR, NLM_F_DUMP, Buffer.alloc(8))) {
    if (m.type !== RTM_NEWADDR || m.payload.readUInt32LE(4) !== index || m.payload.readUInt8(3) !== 0) continue
    const attrs = parseAttrs(m.payload.subarray(8))
    const ip = attrs.get(IFA.LOCAL) ?? attrs.get(IFA.ADDRESS)
    if (ip) out.push(`${formatIP(ipFromBytes(ip))}/${m.payload.readUInt8(1)}`)
  }
  return out
}

export async function addRoute(sock: Rtnl, index: number, dst: string, gw?: string): Promise<void> {
  const to = kernelIp(dst)
  // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
  const hdr = Buffer.from([to.family, to.prefix ?? 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, gw ? 0 : RT_SCOPE_LINK, RTN_UNICAST, 0, 0, 0, 0])
  const attrs: Attr[] = [{ type: RTA.OIF, value: u32(index) }]
  if (to.prefix) attrs.push({ type: RTA.DST, value: to.bytes })
  if (gw) attrs.push({ type: RTA.GATEWAY, value: kernelIp(gw).bytes })
  await sock.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, hdr, attrs)
}

export interface RouteInfo {
  dst: string
  gw?: string
  oif?: number
}

export async function listRoutes(sock: Rtnl): Promise<RouteInfo[]> {
  const out: RouteInfo[] = []
  for (const m of await sock.request(RTM_GETROUTE, NLM_F_DUMP, Buffer.alloc(12))) {
    if (m.type !== RTM_NEWROUTE) continue
    const attrs = parseAttrs(m.payload.subarray(12))
    if ((attrs.get(RTA.TABLE)?.readUInt32LE(0) ?? m.payload.readUInt8(4)) !== RT_TABLE_MAIN) continue
    const v6 = m.payload.readUInt8(0) === AF_INET6
    const d = attrs.get(RTA.DST)
    const r: RouteInfo = { dst: d ? `${formatIP(ipFromBytes(d))}/${m.payload.readUInt8(1)}` : v6 ? '::/0' : '0.0.0.0/0' }
    const g = attrs.get(RTA.GATEWAY)
    if (g) r.gw = formatIP(ipFromBytes(g))
    const oif = attrs.get(RTA.OIF)
    if (oif) r.oif = oif.readUInt32LE(0)
    out.push(r)
  }
  return out
}
