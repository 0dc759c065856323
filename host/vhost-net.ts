// The character devices a `needVhostNet` resource shares with its pods, as the Go plugin's vhost-net info
// provider does: both are checked when a pod is allocated, since a module may be loaded after start-up.
import fs = require('node:fs')

export const VHOST_NET = '/dev/vhost-net'
export const TUN = '/dev/net/tun'

export interface VhostNodes {
  vhostNet: boolean
  tun: boolean
}

export function vhostNodes(): VhostNodes {
  return { vhostNet: fs.existsSync(VHOST_NET), tun: fs.existsSync(TUN) }
}
