// The node state shared by the CNI plugin and the device plugin: attachment records, VF allocation marks,
// per-VF and per-attachment locks under /var/lib/cni/sriov, laid out as sriov-cni lays them out so a node
// upgrades in place. Locks are always taken attachment first, then VF; records and marks change only under
// the VF's lock.
import fs = require('node:fs')
import path = require('node:path')
import { isEmptyFile, pathExists, readFileNoFollow, removeOrphanTempFiles, removeTempFilesOf, writeFileAtomic, writeFilesAtomic } from '../host/atomic-file'
import { removeUnheldLock, withRemovableFlock } from '../host/flock'
import { seams } from '../host/seams'
import { CniError, ErrorCode } from '../protocol/errors'
import { fileNameFor, validateContainerId, validateIfname } from '../protocol/names'
import { hasShape } from '../protocol/text-shape'
import { ATTACHMENT_FORMAT, type AttachmentRecord } from './attachment'
import { BadRecordField, checkSriovCniRecord, isPciAddress, parseRecord } from './parse-record'
import { makeDirs } from '../host/make-dirs'
import { removeFile } from '../host/remove-file'

const isBootId = (s: string): boolean => hasShape(s, 'hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh')
const VF_LOCKS = path.join('pci', 'vf_lock')
const ATTACHMENT_LOCKS = 'lock'

/** A record file that does not parse: every write is atomic, so only a power cut (a record renamed into place before its data reached the disk), a damaged disk or a hand edit makes one. */
export class UnreadableRecord extends Error {
  /** `empty`: a file of no bytes, which only a power cut leaves (renamed into place, its data not yet on disk) */
  constructor(readonly file: string, cause: string, readonly empty = false) {
    super(`the attachment record ${file} cannot be read (${cause})`)
  }
}

const NOT_A_RECORD = `it is neither a ${ATTACHMENT_FORMAT} record nor one of Go sriov-cni (no "format", no "OrigVfState")`

/**
 * The record file of one attachment holding another's: sriov-cni's "<containerID>-<ifname>" names collide
 * (container "a-net1" interface "x", container "a" interface "net1-x"). It is that other attachment's, whole.
 */
export class ForeignRecord extends Error {
  constructor(readonly file: string, readonly owner: { containerId: string; ifname: string }) {
    super(`the attachment record ${file} is that of container ${owner.containerId} interface ${owner.ifname}, whose file name is the same`)
  }
}

export type StoredAttachment =
  | { kind: 'ours'; record: AttachmentRecord }
  | { kind: 'sriov-cni'; containerId: string; ifname: string; raw: Record<string, unknown> }

export function validatePciAddress(pci: string, field = 'deviceID'): void {
  if (!isPciAddress(pci)) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid ${field} ${JSON.stringify(pci)}: expected a PCI address such as 0000:01:10.1`)
  }
}

/** The VF a stored attachment uses, lower case. */
export function deviceOf(stored: StoredAttachment): string {
  return stored.kind === 'ours' ? stored.record.deviceID : String(stored.raw.deviceID ?? '').toLowerCase()
}

export class StateStore {
  readonly root: string

  constructor(opts: { root?: string } = {}) {
    this.root = opts.root ?? seams().stateDir
  }

  private recordPath(containerId: string, ifname: string): string {
    validateContainerId(containerId)
    validateIfname(ifname)
    return path.join(this.root, fileNameFor(`${containerId}-${ifname}`))
  }

  private pciPath(pci: string, ...rest: string[]): string {
    validatePciAddress(pci)
    return path.join(this.root, 'pci', ...rest, pci)
  }

  /**
   * Creates `dir` (and the root) owner-only. Below the root (which may be a link an admin set up), a directory
   * of ours replaced by a symbolic link is refused before anything is created through it.
   */
  private ensureDir(dir: string): void {
    makeDirs(this.root, 0o700)
    let d = this.root
    for (const part of path.relative(this.root, dir).split(path.sep).filter(Boolean)) {
      d = path.join(d, part)
      // mostly there already: an lstat is cheaper than the EEXIST a mkdir would throw
      if (fs.lstatSync(d, { throwIfNoEntry: false })?.isDirectory()) continue
      try {
        fs.mkdirSync(d, { mode: 0o700 })
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        if (!fs.lstatSync(d).isDirectory()) throw new Error(`${d} is not a directory (a symbolic link?); the state directory's own directories must be real ones: remove it`)
      }
    }
  }

  /**
   * Writes the record whole. Not flushed to the device: only a kernel crash can lose it, and that reboot also
   * erases the VF config and the netdev move it describes; a record that does survive one carries an earlier
   * boot's ID, and every verb undoes only what it left on disk (madeInEarlierBoot).
   */
  async saveAttachment(rec: AttachmentRecord): Promise<void> {
    const file = this.recordPath(rec.containerId, rec.ifname)
    this.ensureDir(this.root)
    writeFileAtomic(file, JSON.stringify(rec), { mode: 0o600 })
  }

  /** The record, undefined when there is none; an UnreadableRecord when its file does not parse. */
  async loadAttachment(containerId: string, ifname: string): Promise<StoredAttachment | undefined> {
    const file = this.recordPath(containerId, ifname)
    let text: string | undefined
    try {
      text = readFileNoFollow(file)
    } catch (e) {
      // a link, a directory, a FIFO or a file of gigabytes in a record's place is no record: set aside like a damaged one, so DEL can go on
      if (['ELOOP', 'ENOTREG', 'EFBIG'].includes((e as NodeJS.ErrnoException).code ?? '')) throw new UnreadableRecord(file, (e as Error).message)
      throw e
    }
    if (text === undefined) return undefined
    if (text === '') throw new UnreadableRecord(file, 'it is empty', true)
    let stored: StoredAttachment | undefined
    try {
      stored = parseStored(text, containerId, ifname)
    } catch (e) {
      const other = e instanceof BadRecordField && ['containerId', 'ifname'].includes(e.field) ? this.owner(text, file) : undefined
      if (other) throw new ForeignRecord(file, other)
      throw new UnreadableRecord(file, (e as Error).message)
    }
    // a file in a record's place that is neither ours nor Go sriov-cni's: DEL cannot take it for "no record"
    if (!stored) throw new UnreadableRecord(file, NOT_A_RECORD)
    return stored
  }

  /** The attachment a record of ours in `file` is for, when that attachment's record file is `file` too. */
  private owner(text: string, file: string): { containerId: string; ifname: string } | undefined {
    try {
      const rec = parseStored(text, undefined, undefined, path.basename(file))
      if (rec?.kind !== 'ours') return undefined
      const { containerId, ifname } = rec.record
      return this.recordPath(containerId, ifname) === file ? { containerId, ifname } : undefined
    } catch {
      return undefined
    }
  }

  /** Moves an unreadable record out of every listing, under a name that says what it was (`.unreadable-<name>.<ms>`); returns that path. */
  async setAsideAttachment(containerId: string, ifname: string): Promise<string> {
    const file = this.recordPath(containerId, ifname)
    const aside = path.join(path.dirname(file), `.unreadable-${path.basename(file)}.${Date.now()}`)
    fs.renameSync(file, aside)
    return aside
  }

  /** Removes the record and any temp file a killed writer left for it. */
  async removeAttachment(containerId: string, ifname: string): Promise<void> {
    const file = this.recordPath(containerId, ifname)
    removeFile(file)
    removeTempFilesOf(file)
  }

  /**
   * Removes the records a power cut left empty (of any network: an empty record belongs to an earlier boot, whose
   * kernel state is gone, and names nothing to undo); returns their paths. Each under its attachment's lock.
   */
  async removeEmptyRecords(): Promise<string[]> {
    const removed: string[] = []
    for (const name of safeReaddir(this.root)) {
      const file = path.join(this.root, name)
      if (name.startsWith('.') || !isEmptyFile(file)) continue
      const remove = async () => {
        if (isEmptyFile(file) && removeFile(file)) removed.push(file)
      }
      // "<containerID>-<ifname>", as sriov-cni names it; a name that does not split so is removed without the lock
      const cut = name.lastIndexOf('-')
      try {
        if (cut > 0) await this.withAttachmentLock(name.slice(0, cut), name.slice(cut + 1), remove)
      } catch (e) {
        if (!(e instanceof CniError)) throw e
      }
      await remove()
    }
    return removed
  }

  /**
   * Every record in the store; files that do not parse are skipped (they are not ours to judge: which network's
   * they were is unknown), each told to `onUnreadable` if given.
   */
  async listAttachments(onUnreadable?: (file: string, why: string) => void): Promise<StoredAttachment[]> {
    let names: string[]
    try {
      names = fs.readdirSync(this.root, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name)
    } catch {
      return []
    }
    const out: StoredAttachment[] = []
    for (const name of names) {
      if (name.startsWith('.')) continue
      const file = path.join(this.root, name)
      try {
        const text = readFileNoFollow(file)
        // an empty one is a power cut's, removed by removeEmptyRecords
        const parsed = text ? parseStored(text, undefined, undefined, name) : undefined
        // a record under another attachment's file name would be undone, and its own file never removed
        if (parsed?.kind === 'ours' && this.recordFileName(parsed.record.containerId, parsed.record.ifname) !== name) {
          throw new Error(`it names container ${JSON.stringify(parsed.record.containerId)} and interface ${JSON.stringify(parsed.record.ifname)}, which are not those of its file name`)
        }
        if (parsed) out.push(parsed)
        else if (text) onUnreadable?.(file, NOT_A_RECORD)
      } catch (e) {
        onUnreadable?.(file, (e as Error).message)
      }
    }
    return out
  }

  /** The name of the record file of (containerId, ifname): GC matches Go sriov-cni's records by it, as their ids come from it. */
  recordFileName(containerId: string, ifname: string): string {
    return path.basename(this.recordPath(containerId, ifname))
  }

  /** The records (ours and Go sriov-cni's) whose VF is `pci`. */
  async attachmentsOf(pci: string): Promise<StoredAttachment[]> {
    return (await this.listAttachments()).filter((a) => deviceOf(a) === pci)
  }

  /**
   * ADD's write-ahead: the VF's allocation mark, then the attachment's record (never a record without its mark);
   * `afterMark` runs between the two. Not flushed to the device, as saveAttachment says why.
   */
  async markAndSave(rec: AttachmentRecord, afterMark?: () => void): Promise<void> {
    const mark = this.pciPath(rec.deviceID)
    this.ensureDir(path.dirname(mark))
    const files = [
      { file: mark, data: rec.netns },
      { file: this.recordPath(rec.containerId, rec.ifname), data: JSON.stringify(rec) },
    ]
    try {
      writeFilesAtomic(files, { afterEach: (f) => f === mark && afterMark?.() })
    } catch (e) {
      if (!['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e
      const over = fs.lstatSync(mark, { throwIfNoEntry: false })?.isDirectory() ? mark : this.recordPath(rec.containerId, rec.ifname)
      throw new Error(`${over} is a directory where VF ${rec.deviceID}'s ${over === mark ? 'allocation mark' : 'attachment record'} goes: it is not ours, move it away and retry`)
    }
  }

  /** The network namespace the VF's allocation mark names; undefined when it has none (or an empty one). */
  async allocatedTo(pci: string): Promise<string | undefined> {
    return (await this.markOf(pci)) || undefined
  }

  /** The VF's allocation mark as it is: undefined when there is none, '' when a power cut left it empty. */
  async markOf(pci: string): Promise<string | undefined> {
    try {
      return readFileNoFollow(this.pciPath(pci))?.trim()
    } catch {
      return undefined // a link or a directory in its place is no mark
    }
  }

  /** The VFs that carry an allocation mark (a file: a directory of that name is nobody's mark). */
  async markedVfs(): Promise<string[]> {
    try {
      return fs.readdirSync(path.join(this.root, 'pci'), { withFileTypes: true }).filter((d) => !d.isDirectory() && isPciAddress(d.name)).map((d) => d.name)
    } catch {
      return []
    }
  }

  /** Under the VF's lock: a mark no record backs (or one a power cut left empty) is a leftover, and goes. */
  async clearOrphanMark(pci: string): Promise<boolean> {
    if (!pathExists(this.pciPath(pci)) || (await this.attachmentsOf(pci)).length) return false
    await this.clearAllocated(pci)
    return true
  }

  async clearAllocated(pci: string): Promise<void> {
    const file = this.pciPath(pci)
    try {
      removeFile(file)
    } catch (e) {
      // a directory in the mark's place is no mark of ours: whoever made it removes it (ADD says so)
      if ((e as NodeJS.ErrnoException).code !== 'EISDIR') throw e
    }
    removeTempFilesOf(file)
  }

  /** Serialises everything done to one VF across processes; the lock file does not outlive its holders. */
  async withVfLock<T>(pci: string, fn: () => Promise<T>): Promise<T> {
    const file = this.pciPath(pci, 'vf_lock') + '.lock'
    this.ensureDir(path.dirname(file))
    return withRemovableFlock(file, fn)
  }

  /** Serialises the verbs of one attachment (container, interface), also before it has a record. */
  async withAttachmentLock<T>(containerId: string, ifname: string, fn: () => Promise<T>): Promise<T> {
    const file = this.attachmentLockPath(containerId, ifname)
    this.ensureDir(path.dirname(file))
    return withRemovableFlock(file, fn)
  }

  /** The lock file a killed ADD of the attachment left, unless someone holds it now (a VF reclaimed from it). */
  async removeAttachmentLock(containerId: string, ifname: string): Promise<void> {
    const file = this.attachmentLockPath(containerId, ifname)
    if (pathExists(file)) await removeUnheldLock(file)
  }

  private attachmentLockPath(containerId: string, ifname: string): string {
    validateContainerId(containerId)
    validateIfname(ifname)
    return path.join(this.root, ATTACHMENT_LOCKS, `${fileNameFor(`${containerId}-${ifname}`)}.lock`)
  }

  /** GC: removes lock files nobody holds and temp files of writers that are gone (leftovers of kill -9). */
  async sweep(): Promise<void> {
    for (const dir of [path.join(this.root, VF_LOCKS), path.join(this.root, ATTACHMENT_LOCKS)]) {
      for (const name of safeReaddir(dir)) if (name.endsWith('.lock')) await removeUnheldLock(path.join(dir, name))
    }
    removeOrphanTempFiles(this.root)
    removeOrphanTempFiles(path.join(this.root, 'pci'))
  }
}

/** Ours carry `format`; anything else with OrigVfState is a record Go sriov-cni wrote before an upgrade. */
function parseStored(text: string, containerId?: string, ifname?: string, fileName?: string): StoredAttachment | undefined {
  const raw = JSON.parse(text) as Record<string, unknown>
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('it is not a JSON object')
  if (raw.format === ATTACHMENT_FORMAT) {
    const record = parseRecord(raw, containerId !== undefined && ifname !== undefined ? { containerId, ifname } : undefined)
    // a boot ID that is not the kernel's form (a hand edit, a damaged disk) proves no restart: taken as absent,
    // so a live pod's attachment is never released as an earlier boot's
    if (raw.bootId !== undefined) {
      if (typeof raw.bootId === 'string' && isBootId(raw.bootId)) record.bootId = raw.bootId.toLowerCase()
      else delete record.bootId
    }
    return { kind: 'ours', record }
  }
  if (typeof raw.OrigVfState !== 'object' || raw.OrigVfState === null) return undefined
  checkSriovCniRecord(raw)
  if (containerId === undefined || ifname === undefined) {
    // sriov-cni names the file "<containerID>-<ifname>", and either may hold a "-": a runtime's container ID is
    // 64 hex digits (interface names such as "sriov-a" are common), any other is taken to end at the last "-"
    const runtimeId = /^[0-9a-f]{64}-/.exec(fileName!)
    const cut = runtimeId ? 64 : fileName!.lastIndexOf('-')
    if (cut <= 0) return undefined
    containerId = fileName!.slice(0, cut)
    ifname = fileName!.slice(cut + 1)
  }
  return { kind: 'sriov-cni', containerId, ifname, raw }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir)
  } catch {
    return []
  }
}
