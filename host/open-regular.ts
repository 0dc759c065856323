// Opening a file that must be a regular one (a record, a lease, a lock, a hint, a log): a FIFO planted in its
// place would block open(2) until a peer appears, that is forever, and a device or directory is never ours.
import fs = require('node:fs')

/** The error for something other than a regular file where one belongs; `code` is the errno-like name callers test. */
export class NotRegularFile extends Error {
  readonly code = 'ENOTREG'
  constructor(readonly file: string, readonly what: string) {
    super(`${file} is ${what}, not a regular file; remove it`)
  }
}

/**
 * open(2) with O_NONBLOCK (which never blocks on a FIFO and changes nothing for a regular file), then refuses
 * anything but a regular file. Other errors (ENOENT, ELOOP with O_NOFOLLOW) are the kernel's, unchanged.
 */
export function openRegular(file: string, flags: number, mode?: number): { fd: number; stats: fs.Stats } {
  let fd: number
  try {
    fd = fs.openSync(file, flags | fs.constants.O_NONBLOCK, mode)
  } catch (e) {
    // a FIFO opened for writing with no reader
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw new NotRegularFile(file, 'a FIFO or socket')
    throw e
  }
  const stats = fs.fstatSync(fd)
  if (!stats.isFile()) {
    fs.closeSync(fd)
    throw new NotRegularFile(file, stats.isFIFO() ? 'a FIFO' : stats.isDirectory() ? 'a directory' : 'a device or socket')
  }
  return { fd, stats }
}

/** The whole text of a file that must be a regular one (a config): a FIFO or device there is refused, not waited on or read without end. */
export function readRegularFile(file: string): string {
  const { fd } = openRegular(file, fs.constants.O_RDONLY)
  try {
    return fs.readFileSync(fd, 'utf8')
  } finally {
    fs.closeSync(fd)
  }
}
