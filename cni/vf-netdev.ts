// Moving a VF netdev between the host and a pod, by index. A link is renamed where it lands, where udev does
// not look; only when its current name is taken there does it land first in a private scratch namespace.
import { closeRtnl, type Rtnl, linkByIndex, linkByName, moveLink, openRtnl, renameLink, setLinkMac, setLinkUp, type LinkInfo } from '../host/link'
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
 * Moves link `index` from `from` into `to` as `name` and runs `prepare` on it there; returns its index in `to`.
 * A link already called `name` in `to` is never touched: that is an error. The link lands in `to` directly when
 * its current name is free there, else (also when a concurrent move takes that name first) in a scratch
 * namespace where it is renamed before it moves on.
 */
export async function relocate(from: Place, index: number, to: Place, name: string, prepare?: (p: Place, index: number) => Promise<void>): Promise<number> {
  const link = await mustLink(from, { index })
  if (name !== link.name && (await linkByName(to.sock, name))) throw new Error(`an interface named ${name} already exists in ${to.label}`)
  if (!(await linkByName(to.sock, link.name))) {
    try {
      await moveLink(from.sock, index, to.ns)
    } catch (e) {
      if (!/EEXIST/.test((e as Error).message)) throw e
      return viaScratch(from, index, link.name, to, name, prepare)
    }
    const here = await findMoved(to, index, link.name)
    if (link.name !== name) await renameLink(to.sock, here.index, name)
    await prepare?.(to, here.index)
    return here.index
  }
  return viaScratch(from, index, link.name, to, name, prepare)
}

async function viaScratch(from: Place, index: number, current: string, to: Place, name: string, prepare?: (p: Place, index: number) => Promise<void>): Promise<number> {
  const scratch = openPlace(Netns.createAnonymous(), 'a scratch namespace')
  try {
    await moveLink(from.sock, index, scratch.ns)
    let here = await findMoved(scratch, index, current)
    try {
      if (current !== name) await renameLink(scratch.sock, here.index, name)
      await prepare?.(scratch, here.index)
      await moveLink(scratch.sock, here.index, to.ns)
      here = await findMoved(to, here.index, name)
    } catch (e) {
      // a scratch namespace dies with this process: hand the link back before it is lost with it
      await handBack(scratch, here.index, current, from).catch(() => {})
      throw e
    }
    return here.index
  } finally {
    closePlace(scratch)
  }
}

async function handBack(place: Place, index: number, name: string, home: Place): Promise<void> {
  const link = await linkByIndex(place.sock, index)
  if (!link) return
  if (link.name !== name) await renameLink(place.sock, index, name)
  await moveLink(place.sock, index, home.ns)
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
export async function setMacVerified(place: Place, index: number, mac: string): Promise<void> {
  let lastError = ''
  for (let i = 0; i < MAC_RETRIES; i++) {
    const link = await mustLink(place, { index })
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
