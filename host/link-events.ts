// Link state for the device plugin: carrier of every host interface, the interfaces carrying a default
// route, and a subscription to rtnetlink link events (new, changed, removed links).
import { closeRtnl, getLinks, IFF_UP, IFLA, listRoutes, openRtnl } from './link'
import { NETLINK_ROUTE, readString } from './rtnetlink'
import { loadNetlink } from './native'
import { reportLosses, surviveOverruns } from './netlink-overrun'

const RTNLGRP_LINK = 1

export interface LinkState {
  index: number
  up: boolean
  carrier: boolean
}

export async function hostLinkStates(): Promise<Map<string, LinkState>> {
  const sock = openRtnl()
  try {
    const out = new Map<string, LinkState>()
    for (const m of await getLinks(sock)) {
      const name = readString(m.attrs.get(IFLA.IFNAME))
      if (!name) continue
      const carrier = m.attrs.get(IFLA.CARRIER)
      out.set(name, { index: m.index, up: !!(m.flags & IFF_UP), carrier: carrier === undefined ? true : carrier.readUInt8(0) === 1 })
    }
    return out
  } finally {
    closeRtnl(sock)
  }
}

/** Names of host interfaces that carry a default route: those are never handed to pods. */
export async function defaultRouteInterfaces(states: Map<string, LinkState>): Promise<Set<string>> {
  const sock = openRtnl()
  try {
    const byIndex = new Map([...states.entries()].map(([name, s]) => [s.index, name]))
    const out = new Set<string>()
    for (const r of await listRoutes(sock)) {
      if ((r.dst === '0.0.0.0/0' || r.dst === '::/0') && r.oif !== undefined && byIndex.has(r.oif)) out.add(byIndex.get(r.oif)!)
    }
    return out
  } finally {
    closeRtnl(sock)
  }
}

/**
 * Calls `onChange` on every link event, and `onLost` after events were lost to a full receive buffer (the
 * caller rescans everything); returns the function that stops listening.
 */
export function watchLinks(onChange: () => void, onLost: (lost?: number) => void): () => void {
  // node-netlink's socket: it reads events as they arrive, on the event loop
  const raw = new (loadNetlink().RawNetlinkSocket)(NETLINK_ROUTE)
  raw.unref() // events alone do not keep the process alive
  try {
    const check = reportLosses(surviveOverruns(NETLINK_ROUTE, raw.address().port), onLost)
    raw.addMembership(RTNLGRP_LINK)
    raw.on('message', () => {
      check()
      onChange()
    })
  } catch (e) {
    raw.close()
    throw e
  }
  raw.on('error', () => onLost()) // a receive error loses events too
  return () => raw.close()
}
