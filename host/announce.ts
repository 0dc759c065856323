// Announcing a pod's addresses on its new link: one gratuitous ARP per IPv4 address and one unsolicited
// neighbour advertisement per IPv6 address, so switches and peers learn a reused address's new MAC at once
// (the kernel's arp_notify announces only the first IPv4 address, and only when the link comes up).
import { errnoName, libc } from './libc'
import type { Netns } from './netns'

const AF_PACKET = 17
const AF_INET6 = 10
const SOCK_DGRAM = 2
const SOCK_RAW = 3
const ETH_P_ARP = 0x0806
const IPPROTO_IPV6 = 41
const IPPROTO_ICMPV6 = 58
const IPV6_MULTICAST_IF = 17
const IPV6_MULTICAST_HOPS = 18
const IPV6_FREEBIND = 78
const ALL_NODES = Buffer.from('ff020000000000000000000000000001', 'hex')

function check(rc: number, what: string): number {
  if (rc < 0) throw new Error(`${what} failed: ${errnoName(libc().errno())}`)
  return rc
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32LE(v)
  return b
}

/** RFC 5944 4.6: an ARP request for the address, from the address, to the broadcast address. */
function garp(mac: Buffer, ip: Buffer): Buffer {
  const p = Buffer.alloc(28)
  p.writeUInt16BE(1, 0) // Ethernet
  p.writeUInt16BE(0x0800, 2) // IPv4
  p[4] = 6
  p[5] = 4
  p.writeUInt16BE(1, 6) // request
  mac.copy(p, 8)
  ip.copy(p, 14)
  p.fill(0xff, 18, 24)
  ip.copy(p, 24)
  return p
}

/** RFC 4861 7.2.6: an advertisement with the override flag and our link-layer address; the kernel sums it. */
function unsolicitedNa(mac: Buffer, ip: Buffer): Buffer {
  const p = Buffer.alloc(32)
  p[0] = 136 // neighbour advertisement
  p.writeUInt32BE(0x20000000, 4) // override, not solicited
  ip.copy(p, 8)
  p[24] = 2 // target link-layer address option, 8 bytes
  p[25] = 1
  mac.copy(p, 26)
  return p
}

function sockaddrLl(ifindex: number): Buffer {
  const a = Buffer.alloc(20)
  a.writeUInt16LE(AF_PACKET, 0)
  a.writeUInt16BE(ETH_P_ARP, 2)
  a.writeInt32LE(ifindex, 4)
  a.writeUInt16LE(1, 8) // ARPHRD_ETHER
  a[11] = 6
  a.fill(0xff, 12, 18)
  return a
}

function sockaddrIn6(ip: Buffer, scope: number): Buffer {
  const a = Buffer.alloc(28)
  a.writeUInt16LE(AF_INET6, 0)
  ip.copy(a, 8)
  a.writeUInt32LE(scope, 24)
  return a
}

/**
 * Sends the announcements for `ips` (address bytes, 4 or 16) from link `ifindex` (MAC `mac`) in `ns`. The
 * sockets are created inside the namespace (they stay bound to it); each failure is returned, not thrown:
 * an announcement only speeds up what neighbour discovery would do anyway.
 */
export function announceAddresses(ns: Netns, ifindex: number, mac: Buffer, ips: Buffer[]): string[] {
  const c = libc()
  const failures: string[] = []
  const v4 = ips.filter((ip) => ip.length === 4)
  const v6 = ips.filter((ip) => ip.length === 16)
  const open = (domain: number, type: number, proto: number) => ns.run(() => check(c.socket(domain, type, proto) as number, 'socket'))
  if (v4.length) {
    let fd = -1
    try {
      fd = open(AF_PACKET, SOCK_DGRAM, ((ETH_P_ARP & 0xff) << 8) | (ETH_P_ARP >> 8))
      const to = sockaddrLl(ifindex)
      for (const ip of v4) {
        const p = garp(mac, ip)
        try {
          check(c.sendto(fd, p, p.length, 0, to, to.length) as number, 'sendto')
        } catch (e) {
          failures.push(`gratuitous ARP for ${[...ip].join('.')}: ${(e as Error).message}`)
        }
      }
    } catch (e) {
      failures.push(`gratuitous ARP: ${(e as Error).message}`)
    } finally {
      if (fd >= 0) c.close(fd)
    }
  }
  for (const ip of v6) {
    let fd = -1
    try {
      fd = open(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)
      check(c.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, int32(255), 4) as number, 'hop limit 255') // RFC 4861 7.1.2
      check(c.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, int32(ifindex), 4) as number, 'multicast interface')
      // the address may still be in duplicate address detection: send from it all the same
      check(c.setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, int32(1), 4) as number, 'freebind')
      const from = sockaddrIn6(ip, 0)
      check(c.bind(fd, from, from.length) as number, 'bind')
      const p = unsolicitedNa(mac, ip)
      const to = sockaddrIn6(ALL_NODES, ifindex)
      check(c.sendto(fd, p, p.length, 0, to, to.length) as number, 'sendto')
    } catch (e) {
      failures.push(`neighbour advertisement for ${ip.toString('hex')}: ${(e as Error).message}`)
    } finally {
      if (fd >= 0) c.close(fd)
    }
  }
  return failures
}
