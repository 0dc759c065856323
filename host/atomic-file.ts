// Whole-or-nothing file writes: a reader (or a process killed half-way) never sees a partial file.
import fs from 'node:fs'
import path from 'node:path'

export interface AtomicWriteOptions {
  fsync?: boolean // also flush the data and the directory entry, for state that must survive a crash
  mode?: number
}

export function writeFileAtomic(file: string, data: string | Buffer, opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file)
  const tmp = path.join(dir, `${TEMP_PREFIX}${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}`)
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, opts.mode ?? 0o600)
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
    if (opts.fsync) fs.fsyncSync(fd)
  } catch (e) {
    fs.closeSync(fd)
    fs.rmSync(tmp, { force: true })
    throw e
  }
  fs.closeSync(fd)
  try {
    fs.renameSync(tmp, file)
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw e
  }
  if (opts.fsync) fsyncDir(dir)
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Creates `file` with `data` only if it does not exist yet: the content is written to a temp file first and
 * hard-linked into place (link fails with EEXIST atomically), so nobody ever sees the file empty or partial.
 * Returns false when `file` already exists.
 */
export function createExclusive(file: string, data: string, opts: AtomicWriteOptions = {}): boolean {
  const dir = path.dirname(file)
  const tmp = path.join(dir, `${TEMP_PREFIX}${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}`)
  fs.writeFileSync(tmp, data, { mode: opts.mode ?? 0o644, flag: 'wx' })
  try {
    if (opts.fsync) {
      const fd = fs.openSync(tmp, 'r')
      try { fs.fsyncSync(fd) } finally { fs.closeSync(fd) }
    }
    fs.linkSync(tmp, file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw e
  } finally {
    fs.rmSync(tmp, { force: true })
  }
  if (opts.fsync) fsyncDir(dir)
  return true
}

/** Names of temp files this module creates; a crash can leave one behind for the owner's GC to remove. */
export const TEMP_PREFIX = '.tmp-'
