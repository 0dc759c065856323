// Exclusive advisory locks with flock(2): the same lock the reference host-local and sriov-cni take, so
// our processes and theirs exclude each other on one file.
import fs = require('node:fs')
import { openRegular, type NotRegularFile } from './open-regular'
import { EINTR, errnoName, EWOULDBLOCK, libc, LOCK_EX, LOCK_NB, LOCK_UN } from './libc'

export interface FileLock {
  readonly path: string
  readonly fd: number
  release(): void
}

function tryLock(fd: number): boolean {
  const c = libc()
  for (;;) {
    if (c.flock(fd, LOCK_EX | LOCK_NB) === 0) return true
    const err = c.errno()
    if (err === EWOULDBLOCK) return false
    if (err !== EINTR) throw new Error(`flock failed: ${errnoName(err)}`)
  }
}

function waitLock(fd: number): Promise<void> {
  // The blocking call runs on a worker thread so the event loop keeps going while another process holds it.
  return new Promise((resolve, reject) => {
    libc().flock.async(fd, LOCK_EX, (err: Error | null, rc: number) => {
      if (err) return reject(err)
      if (rc !== 0) return reject(new Error(`flock failed: ${errnoName(libc().errno())}`))
      resolve()
    })
  })
}

// a symlink planted where a lock file belongs is refused (ELOOP), never followed
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW

/**
 * Opens (creating with exactly `mode`) `path` and takes LOCK_EX on it, waiting as long as another holder
 * keeps it; with `wait: false` it returns undefined instead of waiting.
 */
export async function lockFile(path: string, mode?: number): Promise<FileLock>
export async function lockFile(path: string, mode: number, opts: { wait: false }): Promise<FileLock | undefined>
export async function lockFile(path: string, mode = 0o600, opts: { wait?: boolean } = {}): Promise<FileLock | undefined> {
  const fd = openLockFile(path, mode)
  try {
    if (!tryLock(fd)) {
      if (opts.wait === false) {
        fs.closeSync(fd)
        return undefined
      }
      await waitLock(fd)
    }
  } catch (e) {
    fs.closeSync(fd)
    throw new Error(`cannot lock ${path}: ${(e as Error).message}`)
  }
  let held = true
  return {
    path,
    fd,
    release() {
      if (!held) return
      held = false
      libc().flock(fd, LOCK_UN)
      fs.closeSync(fd)
    },
  }
}

function openLockFile(path: string, mode: number): number {
  let opened: { fd: number; stats: fs.Stats }
  try {
    opened = openRegular(path, OPEN_FLAGS, mode)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ELOOP') throw new Error(`cannot lock ${path}: it is a symbolic link; remove it (lock files are never followed)`)
    if (code === 'ENOTREG') throw new Error(`cannot lock ${path}: it is ${(e as NotRegularFile).what}, not a regular file; remove it`)
    throw e
  }
  // the umask must not widen or narrow a lock file's mode: set it explicitly
  if ((opened.stats.mode & 0o777) !== mode) fs.fchmodSync(opened.fd, mode)
  return opened.fd
}

/**
 * Runs `fn` holding the lock on `path`, for per-object lock files that are removed afterwards (sriov-cni
 * leaves them forever):
 * after locking, the path must still name the locked inode, else someone removed it and we lock again.
 */
export async function withRemovableFlock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    const lock = await lockFile(path)
    if (!stillNamed(path, lock)) {
      lock.release()
      continue
    }
    try {
      return await fn()
    } finally {
      removeWhileHeld(path)
      lock.release()
    }
  }
}

/** Removes the lock file at `path` if nobody holds it (a leftover of a killed process); false when held. */
export async function removeUnheldLock(path: string): Promise<boolean> {
  let lock: FileLock | undefined
  try {
    lock = await lockFile(path, 0o600, { wait: false })
  } catch {
    return false
  }
  if (!lock) return false
  if (stillNamed(path, lock)) removeWhileHeld(path)
  lock.release()
  return true
}

function stillNamed(path: string, lock: FileLock): boolean {
  try {
    const onDisk = fs.statSync(path)
    const held = fs.fstatSync(lock.fd)
    return onDisk.ino === held.ino && onDisk.dev === held.dev
  } catch {
    return false
  }
}

function removeWhileHeld(path: string): void {
  try {
    fs.unlinkSync(path) // still holding the lock: waiters re-check the inode and retry
  } catch {
    /* already gone */
  }
}
