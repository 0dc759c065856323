// `mkdir -p` that cannot spin: Node's recursive mkdirSync loops forever where mkdir answers ENOENT under a
// directory that exists (procfs: /proc/x/y), so a hostile or mistaken dataDir would hang a CNI call.
import fs = require('node:fs')
import path = require('node:path')

/** Creates `dir` and its missing parents with `mode`; throws the kernel's error for a path that cannot be made. */
export function makeDirs(dir: string, mode: number): void {
  const abs = path.resolve(dir)
  // mostly there already: a stat is cheaper than the EEXIST a mkdir would throw
  if (fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory()) return
  try {
    makeDir(abs, mode)
    return
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(abs) === abs) throw e
  }
  makeDirs(path.dirname(abs), mode)
  makeDir(abs, mode) // its parent exists now: ENOENT again (procfs) is thrown, not retried
}

/** One mkdir; a directory already there (made by a concurrent call in the meantime) is fine. */
function makeDir(abs: string, mode: number): void {
  try {
    fs.mkdirSync(abs, { mode })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    if (!fs.statSync(abs).isDirectory()) throw new Error(`cannot create directory ${abs}: it exists and is not a directory`)
  }
}
