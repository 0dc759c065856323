// The kernel's boot ID: a random UUID the kernel draws at every boot (kexec included). A record made in an
// earlier boot describes kernel state (VF config on the PF, a netdev in a pod) that the reboot already erased.
import fs = require('node:fs')

const BOOT_ID = '/proc/sys/kernel/random/boot_id'

let cached: string | undefined

/** This boot's ID, read once per process. */
export function bootId(): string {
  if (cached === undefined) {
    try {
      // utf8: Node reads it in one native call; any other encoding runs (and first compiles) its JS read loop, ~0.4 ms
      cached = fs.readFileSync(BOOT_ID, 'utf8').trim()
    } catch (e) {
      throw new Error(`cannot read the kernel's boot ID from ${BOOT_ID} (${(e as Error).message}): is /proc mounted?`)
    }
    if (!cached) throw new Error(`${BOOT_ID} is empty: is /proc mounted?`)
  }
  return cached
}
