// Whole-or-nothing file writes: a reader (or a process killed half-way) never sees a partial file.
import fs = require('node:fs')
import path = require('node:path')
import { openRegular } from './open-regular'
import { removeFile } from './remove-file'

// Nothing is flushed to the device (fsync), as the reference host-local never flushes its leases: a process crash
// loses nothing the page cache holds, and a kernel crash ends the pods and the kernel state these files describe.
export interface AtomicWriteOptions {
  mode?: number
}

export function writeFileAtomic(file: string, data: string | Buffer, opts: AtomicWriteOptions = {}): void {
  writeFilesAtomic([{ file, data, mode: opts.mode }])
}

/**
 * Several files, each whole-or-nothing, put in place in the order given: all are written first, then renamed
 * one after the other (`afterEach` runs after each rename), so a process killed half-way leaves a prefix of them.
 */
export function writeFilesAtomic(files: { file: string; data: string | Buffer; mode?: number }[], opts: { afterEach?: (file: string) => void } = {}): void {
  const tmps: string[] = []
  try {
    for (const f of files) {
      const tmp = tempNameFor(f.file)
      const mode = f.mode ?? 0o600
      const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode)
      tmps.push(tmp)
      try {
        fs.fchmodSync(fd, mode) // exactly this mode, whatever the umask
        fs.writeSync(fd, typeof f.data === 'string' ? Buffer.from(f.data) : f.data)
      } finally {
        fs.closeSync(fd)
      }
    }
    files.forEach((f, i) => {
      fs.renameSync(tmps[i], f.file)
      tmps[i] = ''
      opts.afterEach?.(f.file)
    })
  } catch (e) {
    for (const tmp of tmps) if (tmp) removeFile(tmp)
    throw e
  }
}

/** `.tmp-<name>.<pid>.<random>` beside `file`: the pid tells a sweeper whether its writer is still alive. */
function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `${TEMP_PREFIX}${tempStem(file)}.${process.pid}.${Math.random().toString(36).slice(2)}`)
}

// a file name is at most 255 bytes: a temp name must fit with ".tmp-", the pid and the random part (< 36)
const MAX_STEM_BYTES = 255 - 5 - 36

/**
 * The part of a temp name that says whose it is: the file's name, or for a long one (a device-info file of a
 * long resource name) its start and a hash of the whole, so that two long names never share a stem.
 */
function tempStem(file: string): string {
  const name = path.basename(file)
  if (Buffer.byteLength(name) <= MAX_STEM_BYTES) return name
  let hash = 0x811c9dc5 // FNV-1a: no node:crypto on a CNI call's path
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0
  return `${name.slice(0, 64)}~${hash.toString(16).padStart(8, '0')}`
}

/**
 * Creates `file` with `data` only if it does not exist yet: the content is written to a temp file first and
 * hard-linked into place (link fails with EEXIST atomically), so nobody ever sees the file empty or partial.
 * Returns false when `file` already exists.
 */
export function createExclusive(file: string, data: string, opts: AtomicWriteOptions = {}): boolean {
  const tmp = tempNameFor(file)
  const mode = opts.mode ?? 0o644
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode)
  try {
    try {
      fs.fchmodSync(fd, mode) // exactly this mode, whatever the umask
      fs.writeSync(fd, data)
    } finally {
      fs.closeSync(fd)
    }
    fs.linkSync(tmp, file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw e
  } finally {
    removeFile(tmp)
  }
  return true
}

/** Names of temp files this module creates; a crash can leave one behind for the owner's GC to remove. */
export const TEMP_PREFIX = '.tmp-'

/** Reads `file` without following a symbolic link in its place (ELOOP); undefined when it does not exist. */
export function readFileNoFollow(file: string): string | undefined {
  if (!pathExists(file)) return undefined
  let opened: { fd: number; stats: fs.Stats }
  try {
    opened = openRegular(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
  const { fd, stats } = opened
  try {
    // a file of gigabytes (a damaged disk, a planted file) would hold every verb that reads it for seconds and
    // gigabytes of memory, then fail it: refused unread, so the callers treat it as a damaged file
    if (stats.size > MAX_STATE_FILE_BYTES) throw new TooLargeFile(file, stats.size)
    return fs.readFileSync(fd, 'utf8')
  } finally {
    fs.closeSync(fd)
  }
}

/** Larger than any record, lease, mark or index we write (a record holds a network config, at most ~1.5 MiB in Kubernetes). */
export const MAX_STATE_FILE_BYTES = 8 * 1024 * 1024

/** A state file too large to be one of ours; `code` is the errno-like name callers test. */
export class TooLargeFile extends Error {
  readonly code = 'EFBIG'
  constructor(readonly file: string, readonly size: number) {
    super(`${file} is ${size} bytes, more than any state file holds (${MAX_STATE_FILE_BYTES}): not ours, it was left unread`)
  }
}

/**
 * Whether anything (a link included) is at `p`, asked without an exception: a missing file is the common case of
 * several reads on a CNI call's path, and every ENOENT thrown costs it an Error with a stack (~0.05-0.3 ms).
 */
export function pathExists(p: string): boolean {
  return fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined
}

/**
 * True when `p` is a regular file (not a link) holding nothing: what a power cut leaves of a file renamed into
 * place before its data reached the disk (every write here is whole, so nothing else makes one).
 */
export function isEmptyFile(p: string): boolean {
  const st = fs.lstatSync(p, { throwIfNoEntry: false })
  return !!st?.isFile() && st.size === 0
}

/** Removes the temp files left for `file` by writers that were killed (the caller holds the lock writers take). */
export function removeTempFilesOf(file: string): void {
  const dir = path.dirname(file)
  const prefix = `${TEMP_PREFIX}${tempStem(file)}.`
  for (const name of safeReaddir(dir)) if (name.startsWith(prefix)) removeFile(path.join(dir, name))
}

/** Removes temp files in `dir` whose writer process is gone (their name carries its pid). */
export function removeOrphanTempFiles(dir: string): void {
  for (const name of safeReaddir(dir)) {
    if (!name.startsWith(TEMP_PREFIX)) continue
    const pid = Number(/\.(\d+)\.[a-z0-9]*$/.exec(name)?.[1])
    if (pid && processAlive(pid)) continue
    removeFile(path.join(dir, name))
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir)
  } catch {
    return []
  }
}
