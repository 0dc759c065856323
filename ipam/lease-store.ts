// The on-disk lease store, byte-compatible with the reference host-local: <dataDir>/<name>/<ip> holding
// "<containerID>\r\n<ifname>", last_reserved_ip.<rangeSet>, and a `lock` file both implementations flock.
import fs = require('node:fs')
import path = require('node:path')
import { createExclusive, isEmptyFile, pathExists, readFileNoFollow, TEMP_PREFIX } from '../host/atomic-file'
import { writeHintFile } from '../host/hint-file'
import { lockFile, type FileLock } from '../host/flock'
import { CniError, ErrorCode } from '../protocol/errors'
import { fileNameFor, validateContainerId, validateIfname, validateNetworkName } from '../protocol/names'
import { formatIP, parseIP, type IP } from '../protocol/ip'
import { goTrimSpace } from '../protocol/text-shape'
import { makeDirs } from '../host/make-dirs'
import { removeFile } from '../host/remove-file'

export const LINE_BREAK = '\r\n'
const LAST_RESERVED = 'last_reserved_ip.'
// Our (id, ifname) → IPs index, beside the network directories so the reference never sees it (network
// names cannot start with "."). It spares ADD a scan of every lease. Entries are verified against the lease
// files before they are believed, and a stamp (the network directory's mtime after our last change) tells
// whether someone else, such as the reference plugin, changed the directory since: then it is resynced. The
// stamp also lists the leases by name: an mtime alone misses a change made in the same timestamp tick (coarse,
// ~4 ms, on kernels before 6.13), and the reference's lease would stay out of the index.
// Both are rewritten in place (host/hint-file.ts): we change the index only after the directory, in one locked
// session that writes the stamp last, so a call killed half-way leaves a stale stamp and the next one resyncs.
const INDEX_DIR = '.sriov-index'
const STAMP = '.stamp'

export interface Lease {
  ip: string
  containerId: string
  ifname?: string // absent in legacy ID-only files
}

export class LeaseStore {
  readonly dir: string
  private readonly indexDir: string
  private indexCurrent = false
  // false when .sriov-index (or its network directory) is not a plain directory of ours, such as a symlink
  // planted there: the index is then neither read nor written, and every lookup scans the leases
  private readonly indexUsable: boolean

  constructor(dataDir: string, network: string) {
    validateNetworkName(network)
    this.dir = path.join(dataDir, network)
    this.indexDir = path.join(dataDir, INDEX_DIR, network)
    try {
      makeDirs(this.dir, 0o755)
    } catch (e) {
      throw new CniError(ErrorCode.IoFailure, `cannot create IPAM data directory ${this.dir}: ${(e as Error).message}`)
    }
    this.indexUsable = [path.dirname(this.indexDir), this.indexDir].every(absentOrDirectory)
  }

  /** Takes the store lock; releasing it records that the index is complete for the directory as it is. */
  async lock(): Promise<FileLock> {
    // 0750, as the reference creates it (os.OpenFile with 0750)
    const lock = await lockFile(path.join(this.dir, 'lock'), 0o750)
    const stamp = this.indexUsable ? readOrUndefined(path.join(this.indexDir, STAMP)) : undefined
    this.indexCurrent = stamp !== undefined && stamp === this.dirStamp()
    return {
      path: lock.path,
      fd: lock.fd,
      release: () => {
        try {
          this.stampIndex()
        } finally {
          lock.release()
        }
      },
    }
  }

  /**
   * Records that the index is complete for the directory as it is now. The index is only a hint: failing to
   * stamp it (disk full, read-only) costs a rescan later, never the operation. An empty index leaves no files.
   */
  private stampIndex(): void {
    const stamp = path.join(this.indexDir, STAMP)
    try {
      if (!this.indexCurrent) return // never set while the index is unusable
      const names = safeReaddir(this.indexDir)
      if (names.every((n) => n === STAMP || n.startsWith(TEMP_PREFIX))) {
        // the empty directory stays: removing it cost a DEL ~1 ms, and the next ADD would create it again
        for (const n of names) removeFile(path.join(this.indexDir, n))
        return
      }
      writeHintFile(stamp, this.dirStamp(), 0o644)
    } catch {
      try {
        removeFile(stamp) // a stale stamp would make the next call trust the index
      } catch {
        /* read-only: the stamp no longer matches the directory's mtime, so the next call rescans anyway */
      }
    }
  }

  private dirStamp(): string {
    const leases = safeReaddir(this.dir).filter((n) => parseIP(n)).sort()
    return [String(fs.statSync(this.dir, { bigint: true }).mtimeNs), ...leases].join('\n')
  }

  /** Adds leases someone else created to the index (a full scan, only after an outside change). */
  private syncIndex(): void {
    if (this.indexCurrent) return
    for (const l of this.leases()) this.addToIndex(l.containerId, l.ifname, l.ip)
    this.indexCurrent = true
  }

  /** Creates the lease file for `ip` unless it exists; records it as the range set's last reservation. */
  reserve(containerId: string, ifname: string, ip: IP, rangeSet: number): boolean {
    const name = formatIP(ip)
    const file = path.join(this.dir, name)
    const create = () => createExclusive(file, leaseContent(containerId, ifname), { mode: 0o644 })
    if (!create()) {
      // an empty lease names nobody: every writer fills its lease under the lock we hold, so only a power cut
      // (the file created, its data not yet on disk) leaves one, and its address is free
      if (!isEmptyFile(file)) return false
      removeFile(file)
      if (!create()) return false
    }
    try {
      writeHintFile(path.join(this.dir, LAST_RESERVED + rangeSet), name, 0o644)
    } catch (e) {
      this.release(name) // a lease no caller knows about would leak
      throw e
    }
    this.tryIndex(() => this.addToIndex(containerId, ifname, name))
    return true
  }

  /** The index is a hint: when it cannot be written (disk full), it is rebuilt by a later scan. */
  private tryIndex(write: () => void): void {
    if (!this.indexUsable) return
    try {
      write()
    } catch {
      this.indexCurrent = false
    }
  }

  lastReserved(rangeSet: number): IP | undefined {
    const text = readOrUndefined(path.join(this.dir, LAST_RESERVED + rangeSet))
    return text === undefined ? undefined : parseIP(text.trim())
  }

  /** The IPs leased to (id, ifname), from the index (resynced first if someone else changed the store). */
  findByID(containerId: string, ifname: string): string[] {
    // the lease files themselves decide when the index cannot be brought up to date (disk full, read-only)
    const scan = () => this.leases().filter((l) => l.containerId === goTrimSpace(containerId) && (l.ifname === undefined || l.ifname === ifname))
    try {
      if (!this.indexUsable) return scan().map((l) => l.ip)
      this.syncIndex()
    } catch {
      return scan().map((l) => l.ip)
    }
    const current = this.verifiedEntries(containerId, ifname, leaseContent(containerId, ifname))
    // files of old host-local versions hold only the container ID and count for any ifname
    const legacy = this.verifiedEntries(containerId, undefined, goTrimSpace(containerId))
    if (current && legacy) return [...current, ...legacy]
    // an index file not wholly true (torn, planted, or naming leases since released by someone else): the
    // leases decide, and the attachment's index files are written again from them
    const found = scan()
    for (const [name, ips] of [[ifname, found.filter((l) => l.ifname !== undefined)], [undefined, found.filter((l) => l.ifname === undefined)]] as const) {
      const file = this.indexFile(containerId, name)
      this.tryIndex(() => writeIndexFile(file, ips.map((l) => l.ip)))
    }
    return found.map((l) => l.ip)
  }

  /** Every lease in the directory: a full scan, for GC and for resyncing the index. */
  leases(): Lease[] {
    const out: Lease[] = []
    for (const name of safeReaddir(this.dir)) {
      if (!parseIP(name)) continue
      // the reference trims the whole file (Go's TrimSpace) before it compares: "id\r\nifname\n" is (id, ifname) to it too
      const text = leaseText(path.join(this.dir, name))
      const content = text === undefined ? undefined : goTrimSpace(text)
      if (content === undefined) continue
      const br = content.indexOf(LINE_BREAK)
      out.push(br < 0 ? { ip: name, containerId: content } : { ip: name, containerId: content.slice(0, br), ifname: content.slice(br + 2) })
    }
    return out
  }

  /** Removes every lease of (id, ifname) and what killed writers left (only call while holding the lock). */
  releaseByID(containerId: string, ifname: string): string[] {
    const released = this.findByID(containerId, ifname)
    for (const ip of released) removeFile(path.join(this.dir, ip))
    // a name there that cannot be removed (a directory) costs a rescan later, never the release
    this.tryIndex(() => {
      removeFile(this.indexFile(containerId, ifname))
      // the legacy ID-only entry is rarely there: asked first, as an ENOENT thrown costs more than the lstat
      const legacy = this.indexFile(containerId, undefined)
      if (pathExists(legacy)) removeFile(legacy)
    })
    this.removeTempFiles()
    return released
  }

  /** Takes back a reservation this call made (a later range set failed): the lease and its index entry. */
  unreserve(containerId: string, ifname: string, ip: string): void {
    this.release(ip)
    const file = this.indexFile(containerId, ifname)
    const rest = readOrUndefined(file)?.split('\n').filter((n) => n && n !== ip) ?? []
    this.tryIndex(() => writeIndexFile(file, rest))
  }

  /** The leases the index names for (id, ifname); undefined unless every entry names one of its leases. */
  private verifiedEntries(containerId: string, ifname: string | undefined, want: string): string[] | undefined {
    let names: string[]
    try {
      names = readFileNoFollow(this.indexFile(containerId, ifname))?.split('\n').filter(Boolean) ?? []
    } catch {
      return undefined
    }
    // we leave no empty index file and no entry but an address of a lease of the attachment: an entry that is
    // not (torn, planted, ../x naming a file outside the store, another attachment's lease) is not believed
    const leased = (n: string) => {
      if (!parseIP(n)) return false
      const content = readOrUndefined(path.join(this.dir, n))
      return content !== undefined && goTrimSpace(content) === want
    }
    return names.length && names.every(leased) ? names : undefined
  }

  release(ip: string): void {
    removeFile(path.join(this.dir, ip))
  }

  /** Leftovers of a process killed mid-write; only call while holding the lock. */
  removeTempFiles(): void {
    for (const dir of this.indexUsable ? [this.dir, this.indexDir] : [this.dir]) {
      for (const name of safeReaddir(dir)) if (name.startsWith(TEMP_PREFIX)) removeQuietly(path.join(dir, name))
    }
  }

  /** Drops index entries of attachments that are not in `keep` (GC); legacy ID-only entries follow their ID. */
  pruneIndex(keep: { containerID: string; ifname: string }[]): void {
    if (!this.indexUsable) return
    const kept = new Set(keep.flatMap((a) => [this.indexName(a.containerID, a.ifname), this.indexName(a.containerID, undefined)]))
    for (const name of safeReaddir(this.indexDir)) {
      if (name === STAMP || name.startsWith(TEMP_PREFIX)) continue
      if (!kept.has(name)) removeQuietly(path.join(this.indexDir, name))
    }
  }

  /** `<id>@<ifname>`, or `<id>@` for legacy ID-only leases ("@" cannot occur in a container ID); hashed when too long. */
  private indexName(containerId: string, ifname: string | undefined): string {
    return fileNameFor(`${containerId}@${ifname === undefined ? '' : encodeURIComponent(ifname)}`)
  }

  private indexFile(containerId: string, ifname: string | undefined): string {
    validateContainerId(containerId)
    if (ifname !== undefined) validateIfname(ifname)
    return path.join(this.indexDir, this.indexName(containerId, ifname))
  }

  private addToIndex(containerId: string, ifname: string | undefined, ip: string): void {
    const file = this.indexFile(containerId, ifname)
    makeDirs(this.indexDir, 0o755)
    const current = readOrUndefined(file)?.split('\n').filter(Boolean) ?? []
    if (!current.includes(ip)) writeIndexFile(file, [...current, ip])
  }
}

export function leaseContent(containerId: string, ifname: string): string {
  return goTrimSpace(containerId) + LINE_BREAK + ifname
}


/**
 * A lease file's content as a scan sees it: one too large to be a lease (a damaged disk, a planted file) names
 * nobody, like an empty one, so GC releases its address instead of it staying taken for good.
 */
function leaseText(file: string): string | undefined {
  try {
    return readFileNoFollow(file)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EFBIG' ? '' : undefined
  }
}

/** The file's content; undefined when it is missing or is not a regular file of the store (a link, a FIFO). */
function readOrUndefined(file: string): string | undefined {
  try {
    return readFileNoFollow(file)
  } catch {
    return undefined
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir)
  } catch {
    return []
  }
}

/** An index file: one address a line; none left when there is no address. */
function writeIndexFile(file: string, ips: string[]): void {
  if (ips.length) writeHintFile(file, ips.join('\n') + '\n', 0o644)
  else removeFile(file)
}

/** True when nothing is at `p` or a real directory is (not a symlink to one). */
function absentOrDirectory(p: string): boolean {
  const st = fs.lstatSync(p, { throwIfNoEntry: false })
  return st === undefined || st.isDirectory()
}

/** Leftovers and stale index entries: one that cannot be removed (a directory put there) is left, never fatal. */
function removeQuietly(file: string): void {
  try {
    removeFile(file)
  } catch {
    /* the index is a hint; a lease file is never removed through here */
  }
}
