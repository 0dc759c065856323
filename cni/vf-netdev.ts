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
    if (i > 0) await new Promise((r) => setTimeout(r, 10 * i)) // only a driver that did not take it yet waits
    try {
      await setLinkMac(sock, link.index, mac)
    } catch (e) {
      lastError = (e as Error).message
      if (!/EBUSY|EAGAIN|EADDRNOTAVAIL/.test(lastError)) throw new Error(`setting MAC ${mac} on ${name} failed: ${lastError}`)
    }
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

/** After a failed relocation: the link goes back to the caller's namespace under its old name. */
async function handBack(sock: RtNetlinkSocket, name: string, finalName: string): Promise<void> {
  const link = (await linkByName(sock, finalName)) ?? (await linkByName(sock, name))
  if (!link) return
  if (link.name !== name) await renameLink(sock, link.index, name).catch(() => {})
  const home = Netns.current()
  try {
    await moveLink(sock, link.index, home).catch(() => {})
  } finally {
    home.close()
  }
}

const exists = (e: unknown) => /EEXIST/.test((e as Error).message)

/**
 * Moves link `index` (named `name`, in `src`'s namespace) into `target` as `finalName`, with `prepare` run on
 * it (MAC, MTU) before it is renamed. Renaming happens in the target, where udev does not look; only when
 * the current name is taken there does it go through a private scratch namespace (an extra move, ~2x cost).
 */
async function relocate(src: RtNetlinkSocket, index: number, name: string, target: Netns, finalName: string, prepare: (sock: RtNetlinkSocket, name: string) => Promise<void>): Promise<LinkInfo> {
  try {
    await moveLink(src, index, target)
  } catch (e) {
    if (!exists(e)) throw e
    return inScratch(async (scratch, sock) => {
      await moveLink(src, index, scratch)
      try {
        const moved = (await linkByName(sock, name))!
        if (finalName !== name) await renameLink(sock, moved.index, finalName)
        await prepare(sock, finalName)
        await moveLink(sock, (await linkByName(sock, finalName))!.index, target)
      } catch (e) {
        await handBack(sock, name, finalName)
        throw exists(e) ? new Error(`an interface named ${finalName} already exists there`) : e
      }
      const dst = openRtnl(target)
      try {
        return (await linkByName(dst, finalName))!
      } finally {
        closeRtnl(dst)
      }
    })
  }
  const dst = openRtnl(target)
  try {
    const moved = (await linkByName(dst, name))!
    try {
      if (finalName !== name) await renameLink(dst, moved.index, finalName)
      await prepare(dst, finalName)
    } catch (e) {
      await handBack(dst, name, finalName)
      throw exists(e) ? new Error(`an interface named ${finalName} already exists there`) : e
    }
    return (await linkByName(dst, finalName))!
  } finally {
    closeRtnl(dst)
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
  const placed = await relocate(host, link.index, hostName, pod, podName, async (sock, name) => {
    if (mac) await setMacVerified(sock, name, mac)
  })
  return { name: podName, mac: placed.mac, mtu: placed.mtu }
}

/** Brings interface `name` from `from` (a pod, or the host when the pod is gone) back as `hostName`. */
export async function returnToHost(from: Netns | undefined, name: string, hostName: string, mac: string | undefined, mtu: number | undefined): Promise<boolean> {
  const src = openRtnl(from)
  try {
    const link = await linkByName(src, name)
    if (!link) return false
    if (link.up) await setLinkUp(src, link.index, false)
    const restore = async (sock: RtNetlinkSocket, n: string) => {
      if (mac) await setMacVerified(sock, n, mac).catch(() => {}) // a VF may refuse until the PF lets go: not fatal
      const l = (await linkByName(sock, n))!
      if (mtu && l.mtu !== mtu) await setLinkMtu(sock, l.index, mtu)
    }
    if (!from) {
      if (name !== hostName) await renameLink(src, link.index, hostName)
      await restore(src, hostName)
      return true
    }
    const host = Netns.current()
    try {
      await relocate(src, link.index, name, host, hostName, restore)
    } finally {
      host.close()
    }
    return true
  } finally {
    closeRtnl(src)
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
