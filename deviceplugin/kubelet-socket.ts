// Which kubelet is running: kubelet.sock's device, inode and birth time. A restarted kubelet re-creates its
// socket, so a new identity means a new kubelet even when the old one died with kill -9 and left our sockets.
import fs = require('node:fs')

/** The identity of the socket file, or undefined while there is none. */
export function socketIdentity(file: string): string | undefined {
  try {
    const s = fs.statSync(file, { bigint: true })
    return `${s.dev}:${s.ino}:${s.birthtimeNs}`
  } catch {
    return undefined
  }
}
