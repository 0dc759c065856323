// rtnetlink requests and replies, encoded and parsed here on a netlink socket of ours (host/netlink-socket.ts).
// The plugins send a dozen kinds of message; node-netlink's generated rtnetlink layer cost every CNI call ~15 ms
// to load.
import { errnoCode } from './libc'
import { LibcNetlinkSocket, type NetlinkSocket, type SendOptions } from './netlink-socket'

export const NETLINK_ROUTE = 0
const NLMSG_HDRLEN = 16
const NLMSG_ERROR = 2
const NLMSG_DONE = 3
const NLM_F_DUMP_INTR = 0x10
const DUMP_ATTEMPTS = 3

export const NLM_F_REQUEST = 1
export const NLM_F_ACK = 4
export const NLM_F_DUMP = 0x300
export const NLM_F_EXCL = 0x200
export const NLM_F_CREATE = 0x400
export const NLA_F_NESTED = 0x8000

/** One netlink message: its type and its payload (the family header, then attributes). */
export interface NlMessage {
  type: number
  flags: number
  payload: Buffer
}

/** A netlink attribute to encode: a payload, or attributes nested in it. */
export interface Attr {
  type: number
  value: Buffer | Attr[]
}

const pad4 = (n: number) => (n + 3) & ~3
// an attribute's type without NLA_F_NESTED and NLA_F_NET_BYTEORDER
const NLA_TYPE_MASK = 0x3fff

export function encodeAttrs(attrs: Attr[]): Buffer {
  const parts: Buffer[] = []
  for (const a of attrs) {
    const value = Buffer.isBuffer(a.value) ? a.value : encodeAttrs(a.value)
    const hdr = Buffer.alloc(4)
    hdr.writeUInt16LE(4 + value.length, 0)
    hdr.writeUInt16LE(a.type, 2)
    parts.push(hdr, value, Buffer.alloc(pad4(value.length) - value.length))
  }
  return Buffer.concat(parts)
}

/** Attributes of a message by type, each found when asked for. */
export interface AttrView {
  get(type: number): Buffer | undefined
}

/** The little-endian u16 at `off`: Buffer#readUInt16LE's checks cost more than the read in a scan. */
const u16 = (buf: Buffer, off: number): number => buf[off] | (buf[off + 1] << 8)

/**
 * The attributes in `buf` by type, flags masked, the last of a repeated type winning (see `attrList` for lists).
 * The first lookup notes where each type starts in one pass (offsets only: a view of every attribute was a third
 * of what an ADD allocated); a scan per lookup cost an ADD ~2 ms over the links it reads, most of it cold code.
 */
export function parseAttrs(buf: Buffer): AttrView {
  let at: number[] | undefined
  return {
    get(type: number): Buffer | undefined {
      if (!at) {
        at = []
        for (let off = 0; off + 4 <= buf.length; ) {
          const len = u16(buf, off)
          if (len < 4 || off + len > buf.length) break
          at[u16(buf, off + 2) & NLA_TYPE_MASK] = off
          off += pad4(len)
        }
      }
      const off = at[type]
      return off === undefined ? undefined : buf.subarray(off + 4, off + u16(buf, off))
    },
  }
}

/** The attributes in `buf` in order, types without the nested/byte-order flags. */
export function attrList(buf: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = []
  for (let off = 0; off + 4 <= buf.length; ) {
    const len = u16(buf, off)
    if (len < 4 || off + len > buf.length) break
    out.push([u16(buf, off + 2) & NLA_TYPE_MASK, buf.subarray(off + 4, off + len)])
    off += pad4(len)
  }
  return out
}

export const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(v >>> 0)
  return b
}

export const cString = (s: string, encoding: BufferEncoding = 'utf8'): Buffer => Buffer.concat([Buffer.from(s, encoding), Buffer.alloc(1)])

/** A NUL-terminated string attribute's text. */
export const readString = (b: Buffer | undefined, encoding: BufferEncoding = 'utf8'): string | undefined => (b ? b.toString(encoding, 0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)) : undefined)

/**
 * The kernel refused a request with `errno`. Its message, "Request rejected: ENODEV", is spelled out when read:
 * naming the errno loads Node's errno table (~50 KB, ~0.5 ms), and an expected refusal (no such link) is never read.
 */
export class RequestRejected extends Error {
  constructor(readonly errno: number) {
    super()
  }
}
Object.defineProperty(RequestRejected.prototype, 'message', {
  get(this: RequestRejected) {
    return `Request rejected: ${errnoCode(this.errno)}`
  },
})

interface Pending {
  parts: NlMessage[]
  expected: readonly number[] // refusals answered as their errno instead of an error
  resolve: (answer: NlMessage[] | number) => void
  reject: (e: Error) => void
}

/** A rtnetlink socket of the namespace it was created in: requests answered in order of their sequence number. */
export class Rtnl {
  readonly raw: NetlinkSocket
  private seq = 0
  private readonly pending = new Map<number, Pending>()

  /** `raw`: a socket to use instead of a new NETLINK_ROUTE one (tests feed kernel answers through it). */
  constructor(raw?: NetlinkSocket) {
    this.raw = raw ?? new LibcNetlinkSocket(NETLINK_ROUTE)
    // only a request in flight keeps the process alive, as node-netlink's own sockets do
    this.raw.unref()
    this.raw.on('message', (buf) => this.receive(buf))
    this.raw.on('error', (e) => this.failAll(e))
  }

  /**
   * Sends one message and resolves with the replies: a dump's messages up to NLMSG_DONE, or those before the
   * acknowledgement. A refusal rejects with a RequestRejected, "Request rejected: <ERRNO NAME>".
   */
  async request(type: number, flags: number, header: Buffer, attrs: Attr[] = [], options: SendOptions = {}): Promise<NlMessage[]> {
    return (await this.requestExpecting([], type, flags, header, attrs, options)) as NlMessage[]
  }

  /**
   * As `request`, but a refusal with one of the `expected` errnos resolves to that errno: an answer such as "no
   * such link" is then no Error and no rejected promise (the first of each costs a process ~0.1 ms).
   */
  async requestExpecting(expected: readonly number[], type: number, flags: number, header: Buffer, attrs: Attr[] = [], options: SendOptions = {}): Promise<NlMessage[] | number> {
    for (let attempt = 1; ; attempt++) {
      const parts = await this.once(expected, type, flags, header, attrs, options)
      // a dump the kernel marks interrupted (the table changed under it) may miss or repeat entries: ask again
      if (typeof parts === 'number' || !parts.some((m) => m.flags & NLM_F_DUMP_INTR) || attempt === DUMP_ATTEMPTS) return parts
    }
  }

  private once(expected: readonly number[], type: number, flags: number, header: Buffer, attrs: Attr[], options: SendOptions): Promise<NlMessage[] | number> {
    const seq = (this.seq = (this.seq % 0x7fffffff) + 1)
    const body = Buffer.concat([header, Buffer.alloc(pad4(header.length) - header.length), encodeAttrs(attrs)])
    const hdr = Buffer.alloc(NLMSG_HDRLEN)
    hdr.writeUInt32LE(NLMSG_HDRLEN + body.length, 0)
    hdr.writeUInt16LE(type, 4)
    hdr.writeUInt16LE(flags | NLM_F_REQUEST | ((flags & NLM_F_DUMP) === NLM_F_DUMP ? 0 : NLM_F_ACK), 6)
    hdr.writeUInt32LE(seq, 8)
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { parts: [], expected, resolve, reject })
      this.raw.ref()
      this.raw.send(Buffer.concat([hdr, body]), options, (e) => {
        if (e) this.settle(seq, e)
      })
    })
  }

  close(): void {
    this.failAll(new Error('netlink socket closed'))
    this.raw.close()
  }

  private receive(buf: Buffer): void {
    for (let off = 0; off + NLMSG_HDRLEN <= buf.length; ) {
      const len = buf.readUInt32LE(off)
      if (len < NLMSG_HDRLEN || off + len > buf.length) break
      const type = buf.readUInt16LE(off + 4)
      const flags = buf.readUInt16LE(off + 6)
      const seq = buf.readUInt32LE(off + 8)
      const payload = buf.subarray(off + NLMSG_HDRLEN, off + len)
      off += pad4(len)
      const p = this.pending.get(seq)
      if (!p) continue // a multicast event, or a late answer to a request given up on
      if (type === NLMSG_ERROR) {
        this.settle(seq, -payload.readInt32LE(0) || undefined)
      } else if (type === NLMSG_DONE) {
        const errno = payload.length >= 4 ? -payload.readInt32LE(0) : 0
        this.settle(seq, errno > 0 ? errno : undefined)
      } else {
        // a plain reply is followed by the ACK we asked for, a dump's parts by NLMSG_DONE
        p.parts.push({ type, flags, payload })
      }
    }
  }

  /** Ends request `seq`: answered (no `e`), refused with an errno, or failed. */
  private settle(seq: number, e?: Error | number): void {
    const p = this.pending.get(seq)
    if (!p) return
    this.pending.delete(seq)
    if (this.pending.size === 0) this.raw.unref()
    if (typeof e === 'number' && e) {
      if (p.expected.includes(e)) p.resolve(e)
      else p.reject(new RequestRejected(e))
    } else if (e) p.reject(e as Error)
    else p.resolve(p.parts)
  }

  private failAll(e: Error): void {
    for (const seq of [...this.pending.keys()]) this.settle(seq, e)
  }
}
