// Links, addresses and routes over rtnetlink (node-netlink), in whichever namespace the socket belongs to.
import type { RtNetlinkSocket } from 'netlink'
import { loadNetlink } from './native'
import { formatIP, ipBytes, ipFromBytes, parseCidr, parseIP } from '../protocol/ip'
import type { Netns } from './netns'

export interface LinkInfo {
  index: number
  name: string
  mac: string
  mtu: number
  up: boolean
  running: boolean // up with carrier (IFF_RUNNING)
}

const AF_INET = 2
const AF_INET6 = 10
const RT_TABLE_MAIN = 254
const flagsNew = () => loadNetlink().FlagsNew

export function formatMac(buf: Buffer | undefined): string {
  return buf ? [...buf].map((b) => b.toString(16).padStart(2, '0')).join(':') : ''
}

export function parseMac(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)))
}

/** A rtnetlink socket in `ns` (created inside it), or in the caller's namespace. */
export function openRtnl(ns?: Netns): RtNetlinkSocket {
  const create = () => loadNetlink().createRtNetlink()
  return ns ? ns.run(create) : create()
}

export function closeRtnl(sock: RtNetlinkSocket): void {
  sock.socket.close()
}

function toInfo(msg: { data: { index?: number; flags?: { up?: true; running?: true } }; attrs: { ifname?: string; address?: Buffer; mtu?: number } }): LinkInfo {
  return {
    index: msg.data.index ?? 0,
    name: msg.attrs.ifname ?? '',
    mac: formatMac(msg.attrs.address),
    mtu: msg.attrs.mtu ?? 0,
    up: !!msg.data.flags?.up,
    running: !!msg.data.flags?.running,
  }
}

export async function linkByName(sock: RtNetlinkSocket, name: string): Promise<LinkInfo | undefined> {
  try {
    const [msg] = await sock.getLink({}, { ifname: name })
    return msg ? toInfo(msg) : undefined
  } catch (e) {
    if (/ENODEV/.test((e as Error).message)) return undefined
    throw e
  }
}

export async function linkByIndex(sock: RtNetlinkSocket, index: number): Promise<LinkInfo | undefined> {
  try {
    const [msg] = await sock.getLink({ index })
    return msg ? toInfo(msg) : undefined
  } catch (e) {
    if (/ENODEV/.test((e as Error).message)) return undefined
    throw e
  }
}

export async function setLinkUp(sock: RtNetlinkSocket, index: number, up: boolean): Promise<void> {
  await sock.setLink({ index, flags: up ? { up: true } : {}, change: { up: true } })
}

export async function renameLink(sock: RtNetlinkSocket, index: number, name: string): Promise<void> {
  await sock.setLink({ index }, { ifname: name })
}

export async function setLinkMac(sock: RtNetlinkSocket, index: number, mac: string): Promise<void> {
  await sock.setLink({ index }, { address: parseMac(mac) })
}

export async function setLinkMtu(sock: RtNetlinkSocket, index: number, mtu: number): Promise<void> {
  await sock.setLink({ index }, { mtu })
}

/** Moves the link into `target`; it gets a new index there. */
export async function moveLink(sock: RtNetlinkSocket, index: number, target: Netns): Promise<void> {
  await sock.setLink({ index }, { netNsFd: target.descriptor() })
}

/** The kernel's address family of a valid address or CIDR, and the address's bytes. */
function kernelIp(text: string): { family: number; bytes: Buffer; prefix?: number } {
  const cidr = parseCidr(text)
  const ip = cidr?.ip ?? parseIP(text)
  if (!ip) throw new Error(`${JSON.stringify(text)} is not an IP address`)
  return { family: ip.family === 6 ? AF_INET6 : AF_INET, bytes: ipBytes(ip), prefix: cidr?.prefix }
}

export async function addAddress(sock: RtNetlinkSocket, index: number, cidr: string): Promise<void> {
  const { family, bytes, prefix } = kernelIp(cidr)
  const v6 = family === AF_INET6
  await sock.newAddress(
    { family, prefixlen: prefix ?? (v6 ? 128 : 32), index },
    v6 ? { address: bytes } : { address: bytes, local: bytes },
    { flags: flagsNew().CREATE | flagsNew().EXCL },
  )
}

/** CIDRs on the link, global scope only. */
export async function listAddresses(sock: RtNetlinkSocket, index: number): Promise<string[]> {
  const msgs = await sock.getAddresses()
  return msgs
    .filter((m) => m.data.index === index && (m.data.scope ?? 0) === 0)
    .map((m) => `${formatIP(ipFromBytes((m.attrs.local ?? m.attrs.address) as Buffer))}/${m.data.prefixlen}`)
}

export async function addRoute(sock: RtNetlinkSocket, index: number, dst: string, gw?: string): Promise<void> {
  const to = kernelIp(dst)
  const attrs: Record<string, unknown> = { oif: index }
  if (to.prefix) attrs.dst = to.bytes
  if (gw) attrs.gateway = kernelIp(gw).bytes
  await sock.newRoute(
    { family: to.family, dstLen: to.prefix ?? 0, table: RT_TABLE_MAIN, protocol: 'BOOT', scope: gw ? 'UNIVERSE' : 'LINK', type: 'UNICAST' },
    attrs,
    { flags: flagsNew().CREATE | flagsNew().EXCL },
  )
}

export interface RouteInfo {
  dst: string
  gw?: string
  oif?: number
}

export async function listRoutes(sock: RtNetlinkSocket): Promise<RouteInfo[]> {
  const out: RouteInfo[] = []
  for (const m of await sock.getRoutes()) {
    if ((m.attrs.table ?? m.data.table) !== RT_TABLE_MAIN) continue
    const v6 = m.data.family === AF_INET6
    const dst = m.attrs.dst ? `${formatIP(ipFromBytes(m.attrs.dst))}/${m.data.dstLen}` : v6 ? '::/0' : '0.0.0.0/0'
    const r: RouteInfo = { dst }
    if (m.attrs.gateway) r.gw = formatIP(ipFromBytes(m.attrs.gateway))
    if (m.attrs.oif !== undefined) r.oif = m.attrs.oif
    out.push(r)
  }
  return out
}
