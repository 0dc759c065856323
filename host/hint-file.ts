// Small files that are only hints (an IPAM range's last reservation, the lease index and its stamp): rewritten
// in place, as the reference host-local writes last_reserved_ip. A torn hint costs a rescan or a different
// next address, never a lease; a temp file and a rename cost each write ~0.1-0.3 ms more (two name changes).
import fs = require('node:fs')
import { openRegular } from './open-regular'

const WRITE = fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_CREAT

/** Writes `data` as the whole content of `file`, in place; creates it with exactly `mode` when it is missing. */
export function writeHintFile(file: string, data: string, mode: number): void {
  // one open, created or not: trying the file first and creating it on ENOENT cost a call an exception per new hint
  const { fd, stats } = openRegular(file, WRITE, mode)
  try {
    // an empty file is one just created (or one with nothing to keep): exactly this mode, whatever the umask; a
    // hint someone else wrote (the reference's last_reserved_ip) keeps the mode it has
    if (stats.size === 0) fs.fchmodSync(fd, mode)
    const bytes = Buffer.from(data)
    fs.writeSync(fd, bytes, 0, bytes.length, 0)
    // cut what a longer earlier version left after it (no truncation first: that would free and reallocate the block)
    fs.ftruncateSync(fd, bytes.length)
  } finally {
    fs.closeSync(fd)
  }
}
