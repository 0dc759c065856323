// Exclusive advisory locks with flock(2): the same lock the reference host-local and sriov-cni take, so
// our processes and theirs exclude each other on one file.
import fs from 'node:fs'
import { EINTR, EWOULDBLOCK, libc, LOCK_EX, LOCK_NB, LOCK_UN } from './libc'

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
    if (err !== EINTR) throw new Error(`flock failed with errno ${err}`)
  }
}

function waitLock(fd: number): Promise<void> {
  // The blocking call runs on a worker thread so the event loop keeps going while another process holds it.
  return new Promise((resolve, reject) => {
    libc().flock.async(fd, LOCK_EX, (err: Error | null, rc: number) => {
      if (err) return reject(err)
      if (rc !== 0) return reject(new Error(`flock failed with errno ${libc().errno()}`))
      resolve()
    })
  })
}

/** Opens (creating) `path` read-only and takes LOCK_EX on it, waiting as long as another holder keeps it. */
export async function lockFile(path: string, mode = 0o600): Promise<FileLock> {
  const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_CREAT, mode)
  try {
    if (!tryLock(fd)) await waitLock(fd)
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

/**
 * Runs `fn` holding the lock on `path`, for per-object lock files that are removed afterwards (sriov-cni
 * leaves them forever):
 * after locking, the path must still name the locked inode, else someone removed it and we lock again.
 */
export async function withRemovableFlock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    const lock = await lockFile(path)
    let same = false
    try {
      const onDisk = fs.statSync(path)
      const held = fs.fstatSync(lock.fd)
      same = onDisk.ino === held.ino && onDisk.dev === held.dev
    } catch {
      same = false
    }
    if (!same) {
      lock.release()
      continue
    }
    try {
      return await fn()
    } finally {
      try {
        fs.unlinkSync(path) // still holding the lock: waiters re-check the inode and retry
      } catch {
        /* already gone */
      }
      lock.release()
    }
  }
}
