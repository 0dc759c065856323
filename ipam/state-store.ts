// The node state shared by the CNI plugin and the device plugin: attachment records, VF allocation marks
// and per-VF locks under /var/lib/cni/sriov, laid out as sriov-cni lays them out so a node upgrades in place.
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../host/atomic-file'
import { withRemovableFlock } from '../host/flock'
import { CniError, ErrorCode } from '../protocol/errors'
import { validateContainerId, validateIfname } from '../protocol/names'
import { ATTACHMENT_FORMAT, type AttachmentRecord } from './attachment'

export const DEFAULT_STATE_DIR = '/var/lib/cni/sriov'
const PCI_PATTERN = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/

export type StoredAttachment =
  | { kind: 'ours'; record: AttachmentRecord }
  | { kind: 'sriov-cni'; containerId: string; ifname: string; raw: Record<string, unknown> }

export function validatePciAddress(pci: string, field = 'deviceID'): void {
  if (!PCI_PATTERN.test(pci)) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid ${field} ${JSON.stringify(pci)}: expected a PCI address such as 0000:01:10.1`)
  }
}

export class StateStore {
  readonly root: string

  constructor(opts: { root?: string } = {}) {
    this.root = opts.root ?? (process.env.SRIOV_STATE_DIR || DEFAULT_STATE_DIR)
  }

  private recordPath(containerId: string, ifname: string): string {
    validateContainerId(containerId)
    validateIfname(ifname)
    return path.join(this.root, `${containerId}-${ifname}`)
  }

  private pciPath(pci: string, ...rest: string[]): string {
    validatePciAddress(pci)
    return path.join(this.root, 'pci', ...rest, pci)
  }

  async saveAttachment(rec: AttachmentRecord): Promise<void> {
    const file = this.recordPath(rec.containerId, rec.ifname)
    fs.mkdirSync(this.root, { recursive: true, mode: 0o700 })
    writeFileAtomic(file, JSON.stringify(rec), { fsync: true, mode: 0o600 })
  }

  async loadAttachment(containerId: string, ifname: string): Promise<StoredAttachment | undefined> {
    let text: string
    try {
      text = fs.readFileSync(this.recordPath(containerId, ifname), 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw e
    }
    return parseStored(text, containerId, ifname)
  }

  async removeAttachment(containerId: string, ifname: string): Promise<void> {
    fs.rmSync(this.recordPath(containerId, ifname), { force: true })
  }

  /** Every record in the store; files that do not parse are skipped (they are not ours to judge). */
  async listAttachments(): Promise<StoredAttachment[]> {
    let names: string[]
    try {
      names = fs.readdirSync(this.root, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name)
    } catch {
      return []
    }
    const out: StoredAttachment[] = []
    for (const name of names) {
      if (name.startsWith('.')) continue
      let text: string
      try {
        text = fs.readFileSync(path.join(this.root, name), 'utf8')
      } catch {
        continue
      }
      let parsed: StoredAttachment | undefined
      try {
        parsed = parseStored(text, undefined, undefined, name)
      } catch {
        parsed = undefined
      }
      if (parsed) out.push(parsed)
    }
    return out
  }

  async markAllocated(pci: string, netns: string): Promise<void> {
    const file = this.pciPath(pci)
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
    writeFileAtomic(file, netns, { fsync: true, mode: 0o600 })
  }

  async allocatedTo(pci: string): Promise<string | undefined> {
    try {
      return fs.readFileSync(this.pciPath(pci), 'utf8').trim() || undefined
    } catch {
      return undefined
    }
  }

  async clearAllocated(pci: string): Promise<void> {
    fs.rmSync(this.pciPath(pci), { force: true })
  }

  /** Serialises everything done to one VF across processes; the lock file does not outlive its holders. */
  async withVfLock<T>(pci: string, fn: () => Promise<T>): Promise<T> {
    const file = this.pciPath(pci, 'vf_lock') + '.lock'
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
    return withRemovableFlock(file, fn)
  }
}

/** Ours carry `format`; anything else with OrigVfState is a record Go sriov-cni wrote before an upgrade. */
function parseStored(text: string, containerId?: string, ifname?: string, fileName?: string): StoredAttachment | undefined {
  const raw = JSON.parse(text) as Record<string, unknown>
  if (raw.format === ATTACHMENT_FORMAT) return { kind: 'ours', record: raw as unknown as AttachmentRecord }
  if (typeof raw.OrigVfState !== 'object' || raw.OrigVfState === null) return undefined
  if (containerId === undefined || ifname === undefined) {
    // sriov-cni names the file "<containerID>-<ifname>"; container IDs may contain "-", interface names rarely
    const cut = fileName!.lastIndexOf('-')
    if (cut <= 0) return undefined
    containerId = fileName!.slice(0, cut)
    ifname = fileName!.slice(cut + 1)
  }
  return { kind: 'sriov-cni', containerId, ifname, raw }
}
