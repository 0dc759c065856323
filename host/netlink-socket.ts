// A netlink socket through libc. The kernel answers a rtnetlink request while it is being sent, so the answer
// is read right after the send, with no event-loop round trip per request, and a CNI call does not load
// node-netlink's addon: ADD ~6 ms faster. The device plugin's event socket stays node-netlink's (multicast
// events, read as they arrive).
import { EventEmitter } from 'node:events'
import { EINTR, errnoCode, libc } from './libc'

const AF_NETLINK = 16
const SOCK_RAW = 3
const SOCK_CLOEXEC = 0x80000
const MSG_PEEK = 0x2
const MSG_TRUNC = 0x20
const MSG_DONTWAIT = 0x40
const EAGAIN = 11
// a dump the kernel goes on with later (it never has, for our requests) is looked for again this often
const POLL_MS = 1

/** How a message is sent: `background`, from a worker thread, the calling thread going on meanwhile. */
export interface SendOptions {
  background?: boolean
}

/** What Rtnl needs of a socket: node-netlink's RawNetlinkSocket has the same shape. */
export interface NetlinkSocket {
  send(msg: Buffer, options: SendOptions, callback: (e?: Error) => void): void
  on(event: 'message', fn: (msg: Buffer) => void): unknown
  on(event: 'error', fn: (e: Error) => void): unknown
  ref(): void
  unref(): void
  close(): void
}

export class LibcNetlinkSocket extends EventEmitter implements NetlinkSocket {
  private fd: number
  private waiting = false // a request is unanswered: keep reading
  private timer?: NodeJS.Timeout
  private readonly peek = Buffer.allocUnsafeSlow(1)

  /** A socket in the calling thread's network namespace. */
  constructor(protocol: number) {
    super()
    const c = libc()
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol) as number
    if (fd < 0) throw new Error(`socket(AF_NETLINK) failed: ${errnoCode(c.errno())}`)
    this.fd = fd
  }

  send(msg: Buffer, options: SendOptions, callback: (e?: Error) => void): void {
    if (this.fd < 0) return callback(new Error('netlink socket closed'))
    const c = libc()
    if (options.background) return this.sendInBackground(msg, callback)
    let n: number
    do n = c.sendto(this.fd, msg, msg.length, 0, null, 0) as number
    while (n < 0 && c.errno() === EINTR)
    if (n < 0) return callback(new Error(`sendto failed: ${errnoCode(c.errno())}`))
    this.read()
  }

  /**
   * The kernel does a request's work inside sendto: moving a netdev to another namespace holds the caller
   * there ~20 ms. Sent from libuv's thread pool, it leaves this thread free for work of its own meanwhile.
   */
  private sendInBackground(msg: Buffer, callback: (e?: Error) => void): void {
    const c = libc()
    const sent = (err: unknown, n: number) => {
      if (err) return callback(err as Error)
      // koffi keeps the worker thread's errno for this thread to read
      if (n < 0 && c.errno() === EINTR) return this.sendInBackground(msg, callback)
      if (n < 0) return callback(new Error(`sendto failed: ${errnoCode(c.errno())}`))
      this.read()
    }
    c.sendto.async(this.fd, msg, msg.length, 0, null, 0, sent)
  }

  ref(): void {
    this.waiting = true
  }

  unref(): void {
    this.waiting = false
    clearTimeout(this.timer)
  }

  close(): void {
    if (this.fd < 0) return
    this.unref()
    libc().close(this.fd)
    this.fd = -1
  }

  /** Hands every datagram waiting on the socket to the listeners; looks again later while a request is unanswered. */
  private read(): void {
    const c = libc()
    clearTimeout(this.timer)
    while (this.fd >= 0) {
      const size = c.recv(this.fd, this.peek, 1, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT) as number
      if (size < 0) {
        const errno = c.errno()
        if (errno === EINTR) continue
        if (errno === EAGAIN) break
        this.emit('error', new Error(`recv failed: ${errnoCode(errno)}`))
        return
      }
      const buf = Buffer.allocUnsafeSlow(size)
      const n = c.recv(this.fd, buf, size, MSG_DONTWAIT) as number
      if (n < 0) {
        if (c.errno() === EINTR) continue
        this.emit('error', new Error(`recv failed: ${errnoCode(c.errno())}`))
        return
      }
      this.emit('message', buf.subarray(0, n))
    }
    if (this.waiting && this.fd >= 0) this.timer = setTimeout(() => this.read(), POLL_MS)
  }
}
