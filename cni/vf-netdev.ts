// Moving a VF netdev between the host and a pod, by index, renamed where it lands (where udev does not look).
import { closeRtnl, type Rtnl, linkByIndex, linkByName, moveLink, openRtnl, setLinkMac, setLinkUp, type LinkInfo } from '../host/link'
import { Netns } from '../host/netns'

/** A namespace with a rtnetlink socket in it; `label` names it in errors ("the host", "pod /var/run/netns/x"). */
export interface Place {
  ns: Netns
  sock: Rtnl
  label: string
}

export function openPlace(ns: Netns, label: string): Place {
  return { ns, sock: openRtnl(ns), label }
}

export function closePlace(p: Place): void {
  closeRtnl(p.sock)
  p.ns.close()
}

/** The link, or an error saying which link vanished from where (instead of a null dereference later). */
export async function mustLink(place: Place, ref: { index?: number; name?: string }): Promise<LinkInfo> {
  const link = ref.index !== undefined ? await linkByIndex(place.sock, ref.index) : await linkByName(place.sock, ref.name!)
  if (link && (ref.name === undefined || link.name === ref.name)) return link
  const what = ref.name ? `interface ${ref.name}` : `interface #${ref.index}`
  throw new Error(`${what} vanished from ${place.label}`)
}

/** After a move the kernel keeps the index when it is free in the target, else assigns a new one. */
async function findMoved(place: Place, index: number, name: string): Promise<LinkInfo> {
  const same = await linkByIndex(place.sock, index)
  return same?.name === name ? same : mustLink(place, { name })
}

/**
 * Moves `link` from `from` into `to` as `name` and runs `prepare` on it there; returns it as it is in `to`. A
 * link already called `name` in `to` is never touched: that is an error (`nameFree`: the caller has just made
 * sure it is not there). One request moves and renames: the kernel renames the link as it lands, where udev
 * does not look, and gives it `name` at once when its current name is taken there.
 */
export async function relocate(from: Place, link: LinkInfo, to: Place, name: string, o: { nameFree?: boolean; prepare?: (p: Place, link: LinkInfo) => Promise<void> } = {}): Promise<LinkInfo> {
  if (!o.nameFree && (await linkByName(to.sock, name))) throw new Error(`an interface named ${name} already exists in ${to.label}`)
  await moveLink(from.sock, link.index, to.ns, name === link.name ? undefined : name)
  const here = await findMoved(to, link.index, name)
  await o.prepare?.(to, here)
  return here
}

const MAC_RETRIES = 20
const REFUSED = /EBUSY|EAGAIN|EADDRNOTAVAIL/

/** One attempt to set the MAC; a refusal is not an error here (the PF may have to be told first). */
export async function trySetMac(place: Place, index: number, mac: string): Promise<boolean> {
  try {
    await setLinkMac(place.sock, index, mac)
    return true
  } catch (e) {
    if (REFUSED.test((e as Error).message)) return false
    throw e
  }
}

/**
 * Sets the MAC and reads it back: some drivers apply it asynchronously or answer EBUSY for a moment, and
 * igbvf takes a MAC the PF set only after the VF resets, which taking the (down) link up and down again
 * makes it do.
 */
export async function setMacVerified(place: Place, index: number, mac: string, current?: LinkInfo): Promise<void> {
  let lastError = ''
  for (let i = 0; i < MAC_RETRIES; i++) {
    // `current`: the link as the caller has just read it
    const link = i === 0 && current ? current : await mustLink(place, { index })
    if (link.mac === mac) return
    if (i > 0) await new Promise((r) => setTimeout(r, 10 * i)) // only a driver that did not take it yet waits
    if (i === 2 && !link.up) {
      await setLinkUp(place.sock, index, true)
      await setLinkUp(place.sock, index, false)
    }
    try {
      await setLinkMac(place.sock, index, mac)
    } catch (e) {
      lastError = (e as Error).message
      if (!REFUSED.test(lastError)) throw new Error(`setting MAC ${mac} on ${link.name} in ${place.label} failed: ${lastError}`)
    }
  }
  throw new Error(`MAC of interface #${index} in ${place.label} did not become ${mac} (last error: ${lastError || 'none'})`)
}
