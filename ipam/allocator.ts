// Picking an address in one range set the way the reference does: round-robin after the last reserved
// address, across the set's ranges with wrap-around, the gateway skipped. Caller holds the store lock.
import { CniError, ErrorCode } from '../protocol/errors'
import type { IPConfig } from '../protocol/result'
import { formatIP, parseIP, sameIP, type IP } from '../protocol/ip'
import type { LeaseStore } from './lease-store'
import { rangeSetContains, rangeSetToString, type Range, type RangeSet } from './range'

function* candidates(set: RangeSet, last: IP | undefined): Generator<{ ip: IP; range: Range }> {
  let idx = 0
  let cur: IP | undefined
  const startRange = last ? set.findIndex((r) => rangeSetContains([r], last)) : -1
  if (last && startRange >= 0) {
    idx = startRange
    cur = last
  }
  let start: IP | undefined
  for (;;) {
    let r = set[idx]
    if (!cur) {
      cur = r.rangeStart
    } else if (sameIP(cur, r.rangeEnd)) {
      idx = (idx + 1) % set.length
      r = set[idx]
      cur = r.rangeStart
    } else {
      cur = { family: cur.family, value: cur.value + 1n }
    }
    if (!start) start = cur
    else if (sameIP(cur, start)) return // looped back to where we began
    if (sameIP(cur, r.gateway)) continue
    yield { ip: cur, range: r }
  }
}

function ipConfig(ip: IP, r: Range): IPConfig {
  return { address: `${formatIP(ip)}/${r.subnet.prefix}`, gateway: formatIP(r.gateway) }
}

/** What the allocator needs of a store (the lease files, or a map in a test), as host-local's allocator does. */
export type AllocatorStore = Pick<LeaseStore, 'reserve' | 'findByID' | 'lastReserved'>

/** Reserves one address of `set` for (id, ifname): `requested` if given, else the next free one. */
export function allocateFromSet(store: AllocatorStore, set: RangeSet, setIndex: number, containerId: string, ifname: string, requested?: IP): IPConfig {
  if (requested) {
    const r = rangeSetContains(set, requested)
    if (!r) throw new CniError(ErrorCode.InvalidConfig, `${formatIP(requested)} not in range set ${rangeSetToString(set)}`)
    if (sameIP(requested, r.gateway)) throw new CniError(ErrorCode.InvalidConfig, `requested ip ${formatIP(requested)} is subnet's gateway`)
    if (!store.reserve(containerId, ifname, requested, setIndex)) {
      throw new CniError(ErrorCode.InvalidConfig, `requested IP address ${formatIP(requested)} is not available in range set ${rangeSetToString(set)}`)
    }
    return ipConfig(requested, r)
  }
  for (const held of store.findByID(containerId, ifname)) {
    const ip = parseIP(held)
    if (ip && rangeSetContains(set, ip)) {
      throw new CniError(ErrorCode.InvalidConfig, `${held} has been allocated to ${containerId}, duplicate allocation is not allowed`)
    }
  }
  for (const { ip, range } of candidates(set, store.lastReserved(setIndex))) {
    if (store.reserve(containerId, ifname, ip, setIndex)) return ipConfig(ip, range)
  }
  throw new CniError(ErrorCode.TryAgainLater, `no IP addresses available in range set: ${rangeSetToString(set)}`)
}
