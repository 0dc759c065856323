// The one object through which every sysfs read goes. Tests and the simulated node point it at a fake tree
// with SRIOV_SYSFS_ROOT (host/seams.ts); no other code builds a /sys path.
import fs = require('node:fs')
import path = require('node:path')
import { seams } from './seams'

// out of descriptors or memory says nothing about the device: a pass that took it for "absent" would publish
// empty device lists, so the pass fails instead and the last good view stays
const EXHAUSTED = new Set(['EMFILE', 'ENFILE', 'ENOMEM'])

/** `absent` for a file that is not there or cannot be read; resource exhaustion is thrown. */
function absentOr<T>(e: unknown, absent: T): T {
  if (EXHAUSTED.has((e as NodeJS.ErrnoException).code ?? '')) throw e
  return absent
}

export class Sysfs {
  constructor(private readonly explicitRoot?: string) {}

  /** From the environment when used, so that a test can point the process-wide instance elsewhere. */
  get root(): string {
    return this.explicitRoot ?? seams().sysfsRoot
  }

  /** Absolute path of a sysfs-relative path such as `bus/pci/devices/0000:01:10.1/vendor`. */
  path(rel: string): string {
    return path.join(this.root, rel)
  }

  /** Trimmed file content, or undefined when the file does not exist or cannot be read (out of descriptors: throws). */
  read(rel: string): string | undefined {
    try {
      return fs.readFileSync(this.path(rel), 'utf8').trim()
    } catch (e) {
      return absentOr(e, undefined)
    }
  }

  /** Integer file content (decimal or 0x hex), or undefined. */
  readInt(rel: string): number | undefined {
    const text = this.read(rel)
    if (text === undefined || text === '') return undefined
    const n = text.startsWith('0x') ? parseInt(text, 16) : parseInt(text, 10)
    return Number.isNaN(n) ? undefined : n
  }

  /** Base name of a symlink's target (e.g. the driver name behind `driver`), or undefined. */
  linkName(rel: string): string | undefined {
    try {
      return path.basename(fs.readlinkSync(this.path(rel)))
    } catch (e) {
      return absentOr(e, undefined)
    }
  }

  /** Entries of a directory, sorted; empty when it does not exist. */
  list(rel: string): string[] {
    try {
      return fs.readdirSync(this.path(rel)).sort()
    } catch (e) {
      return absentOr(e, [])
    }
  }

  /**
   * Names of the directories above `rel` once its links are resolved, nearest first: the device a class or
   * bus entry sits on (bus/vdpa/devices/vdpa0 → its PCI function, ...); empty when it does not exist.
   */
  ancestors(rel: string): string[] {
    try {
      const real = fs.realpathSync(this.path(rel))
      return path.relative(fs.realpathSync(this.root), path.dirname(real)).split(path.sep).reverse()
    } catch (e) {
      return absentOr(e, [])
    }
  }

  exists(rel: string): boolean {
    try {
      fs.accessSync(this.path(rel))
      return true
    } catch (e) {
      return absentOr(e, false)
    }
  }

  /** Writes a sysfs attribute (e.g. sriov_numvfs, driver_override); throws with the path on failure. */
  write(rel: string, value: string): void {
    fs.writeFileSync(this.path(rel), value)
  }

  /** sysfs-relative path of a PCI device directory. */
  static pciDevice(pci: string, ...rest: string[]): string {
    return path.join('bus/pci/devices', pci, ...rest)
  }

  /** sysfs-relative path of a network interface directory. */
  static netDevice(name: string, ...rest: string[]): string {
    return path.join('class/net', name, ...rest)
  }
}

/** The process-wide sysfs, rooted from the environment. */
export const sysfs = new Sysfs()
