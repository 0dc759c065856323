// Small files that are only hints (an IPAM range's last reservation, the lease index and its stamp): rewritten
// in place, as the reference host-local writes last_reserved_ip. A torn hint costs a rescan or a different
// next address, never a lease; a temp file and a rename cost each write ~0.1-0.3 ms more (two name changes).
import fs = require('node:fs')

const WRITE = fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW

/** Writes `data` as the whole content of `file`, in place; creates it with exactly `mode` when it is missing. */
export function writeHintFile(file: string, data: string, mode: number): void {
  let fd: number
  try {
    fd = fs.openSync(file, WRITE)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    fd = fs.openSync(file, WRITE | fs.constants.O_CREAT | fs.constants.O_EXCL, mode)
    fs.fchmodSync(fd, mode) // exactly this mode, whatever the umask
  }
  try {
    const bytes = Buffer.from(data)
    fs.writeSync(fd, bytes, 0, bytes.length, 0)
    // cut what a longer earlier version left after it (no truncation first: that would free and reallocate the block)
    fs.ftruncateSync(fd, bytes.length)
  } finally {
    fs.closeSync(fd)
  }
}
