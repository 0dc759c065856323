// Moving a VF netdev between the host and a pod. Renames happen in a private scratch namespace, so neither
// a host interface nor a pod interface with the same name can get in the way (and udev never sees them).
import fs from 'node:fs'
import type { RtNetlinkSocket } from 'netlink'
import { closeRtnl, linkByName, moveLink, openRtnl, renameLink, setLinkMac, setLinkMtu, setLinkUp, type LinkInfo } from '../host/link'
import { Netns } from '../host/netns'

const MAC_RETRIES = 20

/** Sets the MAC and reads it back: some drivers apply it asynchronously or answer EBUSY for a moment. */
export async function setMacVerified(sock: RtNetlinkSocket, name: string, mac: string): Promise<void> {
  let lastError = ''
  for (let i = 0; i < MAC_RETRIES; i++) {
    const link = await linkByName(sock, name)
    if (!link) throw new Error(`interface ${name} disappeared while setting its MAC`)
    if (link.mac === mac) return
    try {
      await setLinkMac(sock, link.index, mac)
    } catch (e) {
      lastError = (e as Error).message
      if (!/EBUSY|EAGAIN|EADDRNOTAVAIL/.test(lastError)) throw new Error(`setting MAC ${mac} on ${name} failed: ${lastError}`)
    }
    await new Promise((r) => setTimeout(r, 10 * (i + 1)))
  }
  throw new Error(`MAC of ${name} did not become ${mac} (last error: ${lastError || 'none'})`)
}

async function inScratch<T>(fn: (scratch: Netns, sock: RtNetlinkSocket) => Promise<T>): Promise<T> {
  const scratch = Netns.createAnonymous()
  const sock = openRtnl(scratch)
  try {
    return await fn(scratch, sock)
  } finally {
    closeRtnl(sock)
    scratch.close()
  }
}

export interface PodPlacement {
  name: string // name in the pod
  mac: string
  mtu: number
}

/** Moves host interface `hostName` into `pod` as `podName`, setting `mac` on the way. */
export async function moveIntoPod(host: RtNetlinkSocket, hostName: string, pod: Netns, podName: string, mac?: string): Promise<PodPlacement> {
  const link = await linkByName(host, hostName)
  if (!link) throw new Error(`VF netdev ${hostName} not found on the host`)
  if (link.up) await setLinkUp(host, link.index, false)
  return inScratch(async (scratch, sock) => {
    await moveLink(host, link.index, scratch)
    try {
      const moved = (await linkByName(sock, hostName))!
      if (podName !== hostName) await renameLink(sock, moved.index, podName)
      if (mac) await setMacVerified(sock, podName, mac)
      const ready = (await linkByName(sock, podName))!
      await moveLink(sock, ready.index, pod)
      return { name: podName, mac: ready.mac, mtu: ready.mtu }
    } catch (e) {
      // put it back under its own name before reporting the failure
      const stuck = (await linkByName(sock, podName)) ?? (await linkByName(sock, hostName))
      if (stuck) {
        if (stuck.name !== hostName) await renameLink(sock, stuck.index, hostName).catch(() => {})
        await moveLink(sock, stuck.index, Netns.current()).catch(() => {})
      }
      throw e
    }
  })
}

/** Brings interface `name` from `from` (a pod, or the host when the pod is gone) back as `hostName`. */
export async function returnToHost(from: Netns | undefined, name: string, hostName: string, mac: string | undefined, mtu: number | undefined): Promise<boolean> {
  const host = Netns.current()
  const hostSock = openRtnl()
  try {
    const src = from ? openRtnl(from) : hostSock
    let link: LinkInfo | undefined
    try {
      link = await linkByName(src, name)
      if (!link) return false
      if (link.up) await setLinkUp(src, link.index, false)
      await inScratch(async (scratch, sock) => {
        await moveLink(src, link!.index, scratch)
        const moved = (await linkByName(sock, name))!
        if (name !== hostName) await renameLink(sock, moved.index, hostName)
        if (mac) await setMacVerified(sock, hostName, mac).catch(() => {}) // a VF may refuse until the PF lets go: not fatal
        const ready = (await linkByName(sock, hostName))!
        if (mtu && ready.mtu !== mtu) await setLinkMtu(sock, ready.index, mtu)
        await moveLink(sock, ready.index, host)
      })
      return true
    } finally {
      if (src !== hostSock) closeRtnl(src)
    }
  } finally {
    closeRtnl(hostSock)
    host.close()
  }
}

/** Announces the pod's IPv4 addresses when the link comes up (gratuitous ARP, as sriov-cni sends). */
export function enableArpNotify(pod: Netns, ifname: string): void {
  pod.run(() => {
    try {
      fs.writeFileSync(`/proc/sys/net/ipv4/conf/${ifname}/arp_notify`, '1')
    } catch {
      /* no IPv4 on this link: nothing to announce */
    }
  })
}
