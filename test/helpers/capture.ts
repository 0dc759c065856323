// A packet capture on a host interface with tcpdump (Debian), read back from its pcap file: the announcements
// a plugin sends out of the VF are what its "wire" (the veth peer) sees.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { formatIP } from '../../protocol/ip'

export interface Announcement {
  kind: 'garp' | 'na'
  address: string // the IPv4 address a gratuitous ARP announces, or the IPv6 target of an advertisement
  mac: string // the link-layer address announced
}

const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')
const ipv6 = (b: Buffer) => formatIP({ family: 6, value: BigInt(`0x${b.toString('hex')}`) })

/** Gratuitous ARPs (sender = target address) and unsolicited, overriding neighbour advertisements in a pcap. */
export function announcements(pcap: Buffer): Announcement[] {
  const out: Announcement[] = []
  for (let at = 24; at + 16 <= pcap.length; ) {
    const len = pcap.readUInt32LE(at + 8)
    const frame = pcap.subarray(at + 16, at + 16 + len)
    at += 16 + len
    const type = frame.readUInt16BE(12)
    if (type === 0x0806 && frame.length >= 42) {
      const arp = frame.subarray(14)
      const sender = arp.subarray(14, 18)
      if (arp.readUInt16BE(6) === 1 && sender.equals(arp.subarray(24, 28))) out.push({ kind: 'garp', address: [...sender].join('.'), mac: hex(arp.subarray(8, 14)) })
    } else if (type === 0x86dd && frame.length >= 14 + 40 + 32) {
      const ip = frame.subarray(14)
      const icmp = ip.subarray(40)
      if (ip[6] !== 58 || icmp[0] !== 136) continue
      const flags = icmp.readUInt32BE(4)
      if (flags & 0x40000000 || !(flags & 0x20000000)) continue // solicited, or not overriding
      out.push({ kind: 'na', address: ipv6(icmp.subarray(8, 24)), mac: icmp[24] === 2 ? hex(icmp.subarray(26, 32)) : '' })
    }
  }
  return out
}

/** Starts tcpdump on `ifname` (ARP and ICMPv6 only); `stop()` ends it and returns what it saw. */
export async function capture(t: { teardown(fn: () => void): void }, dir: string, ifname: string): Promise<{ until(enough: (a: Announcement[]) => boolean, limitMs?: number): Promise<void>; stop(): Promise<Announcement[]> }> {
  const file = path.join(dir, `${ifname}.pcap`)
  const proc = spawn('tcpdump', ['-i', ifname, '-U', '-w', file, '-s', '128', 'arp or icmp6'], { stdio: ['ignore', 'ignore', 'pipe'] })
  t.teardown(() => proc.kill())
  // tcpdump says "listening on ..." once the capture is armed
  await new Promise<void>((resolve, reject) => {
    let err = ''
    proc.stderr!.on('data', (d) => {
      err += d
      if (/listening on/.test(err)) resolve()
    })
    proc.on('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${err}`)))
  })
  const seen = () => (fs.existsSync(file) ? announcements(fs.readFileSync(file)) : [])
  return {
    /** Waits (at most `limitMs`) until `enough` holds for what was captured so far; the caller asserts after. */
    async until(enough: (a: Announcement[]) => boolean, limitMs = 10_000) {
      for (const end = Date.now() + limitMs; !enough(seen()) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50))
    },
    async stop() {
      const done = new Promise((r) => proc.on('exit', r))
      proc.kill('SIGINT')
      await done
      return announcements(fs.readFileSync(file))
    },
  }
}
