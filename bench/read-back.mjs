// How an executable's pages came into the page cache changes how fast it starts: a just-written file, as a build
// or an install leaves it, takes ~300 more page faults a call on this kernel than one read back from disk. Every
// contender a bench runs is put in that state first.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'

/** Flushes `file`, drops its pages (GNU dd: count=0 with iflag=nocache covers the whole file), reads it back. */
export function readBackFromDisk(file) {
  const fd = fs.openSync(file, 'r')
  try {
    fs.fsyncSync(fd)
    execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none'])
    const buf = Buffer.allocUnsafe(128 * 1024)
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    fs.closeSync(fd)
  }
}
