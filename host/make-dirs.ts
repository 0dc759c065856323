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
    fs.mkdirSync(abs, { mode })
    return
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      if (fs.statSync(abs).isDirectory()) return
      throw new Error(`cannot create directory ${abs}: it exists and is not a directory`)
    }
    if (code !== 'ENOENT' || path.dirname(abs) === abs) throw e
  }
  makeDirs(path.dirname(abs), mode)
  try {
    fs.mkdirSync(abs, { mode }) // its parent exists now: ENOENT again (procfs) is thrown, not retried
  } catch (e) {
    // another call (a concurrent ADD) made it in the meantime
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(abs).isDirectory()) throw e
  }
}
