// devlink over generic netlink: the versions a driver reports for a device (`devlink dev info`), which is
// where ice reports the DDP package it runs (fw.app.name).
import { loadGenericNetlink } from './native'

// <linux/devlink.h>
const DEVLINK_CMD_INFO_GET = 51
const DEVLINK_GENL_VERSION = 1
const ATTR_BUS_NAME = 1
const ATTR_DEV_NAME = 2
const ATTR_INFO_VERSION_RUNNING = 101
const ATTR_INFO_VERSION_NAME = 103
const ATTR_INFO_VERSION_VALUE = 104
const NLA_HDRLEN = 4
const NLA_TYPE_MASK = 0x3fff // without the nested / byte-order flags

/** A netlink attribute holding a NUL-terminated string, padded to 4 bytes. */
export function stringAttr(type: number, value: string): Buffer {
  const payload = Buffer.from(`${value}\0`)
  const out = Buffer.alloc(NLA_HDRLEN + ((payload.length + 3) & ~3))
  out.writeUInt16LE(NLA_HDRLEN + payload.length, 0)
  out.writeUInt16LE(type, 2)
  payload.copy(out, NLA_HDRLEN)
  return out
}

/** The attributes of a netlink attribute stream, in order. */
export function parseAttrs(buf: Buffer): { type: number; data: Buffer }[] {
  const out: { type: number; data: Buffer }[] = []
  for (let off = 0; off + NLA_HDRLEN <= buf.length;) {
    const len = buf.readUInt16LE(off)
    if (len < NLA_HDRLEN || off + len > buf.length) break
    out.push({ type: buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, data: buf.subarray(off + NLA_HDRLEN, off + len) })
    off += (len + 3) & ~3
  }
  return out
}

const text = (b: Buffer) => b.toString('utf8').replace(/\0+$/, '')

/** The running versions in a DEVLINK_CMD_INFO_GET answer's attributes, by name. */
export function runningVersions(attrs: Buffer): Map<string, string> {
  const out = new Map<string, string>()
  for (const a of parseAttrs(attrs)) {
    if (a.type !== ATTR_INFO_VERSION_RUNNING) continue
    const inner = parseAttrs(a.data)
    const name = inner.find((x) => x.type === ATTR_INFO_VERSION_NAME)
    const value = inner.find((x) => x.type === ATTR_INFO_VERSION_VALUE)
    if (name && value) out.set(text(name.data), text(value.data))
  }
  return out
}

export interface DevlinkClient {
  /** Running versions of `bus`/`device` (e.g. pci, 0000:3b:00.0); rejects when the device has no devlink instance. */
  runningVersions(bus: string, device: string): Promise<Map<string, string>>
  close(): void
}

/** A devlink client; rejects when the kernel has no devlink (no driver registered one, or CONFIG_NET_DEVLINK off). */
export async function openDevlink(timeoutMs = 2000): Promise<DevlinkClient> {
  const genl = loadGenericNetlink()
  const sock = genl.createGenericNetlink()
  try {
    const [family] = await sock.ctrlRequest(3 /* CTRL_CMD_GETFAMILY */, { familyName: 'devlink' }, { timeout: timeoutMs })
    const id = family?.familyId
    if (id === undefined) throw new Error('the kernel has no devlink family')
    return {
      async runningVersions(bus, device) {
        const [msgs] = await sock.request(id, DEVLINK_CMD_INFO_GET, DEVLINK_GENL_VERSION, [stringAttr(ATTR_BUS_NAME, bus), stringAttr(ATTR_DEV_NAME, device)], { timeout: timeoutMs })
        return runningVersions(Buffer.concat(msgs.map((m) => m.data)))
      },
      close: () => sock.socket.close(),
    }
  } catch (e) {
    sock.socket.close()
    throw new Error(`devlink unavailable: ${(e as Error).message}`)
  }
}
