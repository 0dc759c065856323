// Kernel uevents (NETLINK_KOBJECT_UEVENT): PCI devices appearing, disappearing and changing drivers, which
// no rtnetlink event reports for a VF without a netdev (a DPDK-bound VF). sysfs itself gives no inotify.
import { loadNetlink } from './native'
import { reportLosses, surviveOverruns } from './netlink-overrun'

const NETLINK_KOBJECT_UEVENT = 15
const KERNEL_GROUP = 1

export interface Uevent {
  action: string // add, remove, bind, unbind, change, ...
  devpath: string
  subsystem: string
}

/** "action@devpath\0KEY=VALUE\0..." as the kernel sends it. */
export function parseUevent(buf: Buffer): Uevent | undefined {
  const parts = buf.toString('utf8').split('\0')
  const at = parts[0].indexOf('@')
  if (at < 0) return undefined // udev's own re-broadcasts use another format and group
  const env = new Map(parts.slice(1).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
  return { action: parts[0].slice(0, at), devpath: parts[0].slice(at + 1), subsystem: env.get('SUBSYSTEM') ?? '' }
}

/**
 * Calls `onEvent` for every kernel uevent, and `onLost` after events were lost to a full receive buffer (the
 * caller rescans everything); returns the function that stops listening.
 */
export function watchUevents(onEvent: (e: Uevent) => void, onLost: (lost?: number) => void): () => void {
  const sock = new (loadNetlink().RawNetlinkSocket)(NETLINK_KOBJECT_UEVENT)
  try {
    const check = reportLosses(surviveOverruns(NETLINK_KOBJECT_UEVENT, sock.address().port), onLost)
    sock.addMembership(KERNEL_GROUP)
    sock.on('message', (buf) => {
      check()
      const e = parseUevent(buf)
      if (e) onEvent(e)
    })
  } catch (e) {
    sock.close()
    throw e
  }
  sock.on('error', () => onLost()) // a receive error (ENOBUFS if the option could not be set) loses events too
  return () => sock.close()
}
