// Removing one file: unlink(2), a file already gone being no error. fs.rmSync cost a CNI call ~1 ms more: it
// loads Node's rimraf and stats the path twice before it unlinks.
import fs = require('node:fs')

/** Removes `file` (not a directory); true when it was there. */
export function removeFile(file: string): boolean {
  try {
    fs.unlinkSync(file)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw e
  }
}
