// Netlink event sockets that fall behind (a flood of uevents, a daemon paused by SIGSTOP or CPU throttling)
// must lose events, never the process. When a socket's receive buffer overflows the kernel sets the socket
// error ENOBUFS; epoll then reports POLLERR, libuv passes it to node-netlink as EBADF, and node-netlink builds
// its error with a null syscall name, which throws in C++ and aborts the process ("terminate called after
// throwing an instance of 'Napi::Error'"). NETLINK_NO_ENOBUFS keeps the kernel from setting that error; the
// events lost are counted instead, in the socket's Drops column of /proc/self/net/netlink.
import fs = require('node:fs')
import { errnoName, libc } from './libc'

const SOL_NETLINK = 270
const NETLINK_NO_ENOBUFS = 5

interface NetlinkSocketRow {
  protocol: number
  port: number
  drops: number
  inode: string
}

/** The netlink sockets of this thread's namespace, as /proc/self/net/netlink lists them. */
function netlinkSockets(): NetlinkSocketRow[] {
  // columns: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  const rows = fs.readFileSync('/proc/self/net/netlink', 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/))
  return rows.filter((c) => c.length >= 10).map((c) => ({ protocol: Number(c[1]), port: Number(c[2]), drops: Number(c[8]), inode: c[9] }))
}

/** The descriptor of this process that holds the socket with `inode`. */
function descriptorOf(inode: string): number | undefined {
  const want = `socket:[${inode}]`
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === want) return Number(fd)
    } catch {
      /* closed meanwhile (the readdir's own descriptor) */
    }
  }
  return undefined
}

/**
 * Makes the netlink socket of `protocol` bound to `port` survive overruns (see the top of this file) and
 * returns a reader of how many messages it has lost so far. Throws when the socket cannot be found or set.
 */
export function surviveOverruns(protocol: number, port: number): () => number {
  const found = netlinkSockets().find((s) => s.protocol === protocol && s.port === port)
  const fd = found && descriptorOf(found.inode)
  if (!found || fd === undefined) throw new Error(`netlink socket (protocol ${protocol}, port ${port}) not found in /proc/self`)
  const one = Buffer.alloc(4)
  one.writeInt32LE(1)
  if ((libc().setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, one, 4) as number) !== 0) throw new Error(`setsockopt(NETLINK_NO_ENOBUFS) failed: ${errnoName(libc().errno())}`)
  const { inode } = found
  return () => netlinkSockets().find((s) => s.inode === inode)?.drops ?? 0
}

/**
 * Calls `onLost` once after any batch of messages during which `drops()` grew: the messages still queued
 * when the buffer overflowed arrive after the loss, so checking as they arrive never misses one.
 */
export function reportLosses(drops: () => number, onLost: (lost: number) => void): () => void {
  let seen = drops()
  let pending = false
  return () => {
    if (pending) return
    pending = true
    setImmediate(() => {
      pending = false
      const now = drops()
      if (now === seen) return
      const lost = now - seen
      seen = now
      onLost(lost)
    })
  }
}
