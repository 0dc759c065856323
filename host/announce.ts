// Gratuitous ARPs for a pod's IPv4 addresses, sent by us when the kernel's (arp_notify, as the link comes up)
// could not reach the wire because the link had no carrier yet: switches and peers learn a reused address's new
// MAC at once. Carrier that comes later makes no ARP: Linux announces on admin up and MAC changes only. IPv6 addresses are the kernel's to announce (ndisc_notify), once duplicate address detection
// has passed.
import { errnoName, libc } from './libc'
import type { Netns } from './netns'

const AF_PACKET = 17
const SOCK_DGRAM = 2
const ETH_P_ARP = 0x0806

function check(rc: number, what: string): number {
  if (rc < 0) throw new Error(`${what} failed: ${errnoName(libc().errno())}`)
  return rc
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

/**
 * Sends a gratuitous ARP for each of `ips` (IPv4 address bytes) from link `ifindex` (MAC `mac`) in `ns`. The
 * socket is created inside the namespace (it stays bound to it); each failure is returned, not thrown: an
 * announcement only speeds up what ARP does anyway. (Closing a packet socket costs a few ms: synchronize_net.)
 */
export function sendGratuitousArps(ns: Netns, ifindex: number, mac: Buffer, ips: Buffer[]): string[] {
  const c = libc()
  const failures: string[] = []
  let fd = -1
  try {
    fd = ns.run(() => check(c.socket(AF_PACKET, SOCK_DGRAM, ((ETH_P_ARP & 0xff) << 8) | (ETH_P_ARP >> 8)) as number, 'socket'))
    const to = sockaddrLl(ifindex)
    for (const ip of ips) {
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
  return failures
}
