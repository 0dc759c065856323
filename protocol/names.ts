// The spec's patterns for values that end up in file paths; checked before any path is built.
import { CniError, ErrorCode } from './errors'
import { isSpecIdentifier } from './text-shape'

const ID_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$' // what isSpecIdentifier checks, as the spec writes it

/** Container IDs come from CNI_CONTAINERID (code 4) or from GC's valid-attachments (code 7). */
export function validateContainerId(id: string, code: number = ErrorCode.InvalidEnv): void {
  if (!id) throw new CniError(code, 'missing container ID (CNI_CONTAINERID)')
  if (!isSpecIdentifier(id)) {
    throw new CniError(code, `invalid container ID ${JSON.stringify(id)}: must match ${ID_PATTERN}`)
  }
}

export function validateNetworkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '') {
    throw new CniError(ErrorCode.InvalidConfig, 'missing network name: set "name" in the network config')
  }
  if (!isSpecIdentifier(name)) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid network name ${JSON.stringify(name)}: must match ${ID_PATTERN}`)
  }
}

export function validateIfname(name: string, code: number = ErrorCode.InvalidEnv): void {
  const bad = (why: string) => new CniError(code, `invalid interface name ${JSON.stringify(name)} (CNI_IFNAME): ${why}`)
  if (!name) throw new CniError(code, 'missing interface name (CNI_IFNAME)')
  // the kernel's limit is in bytes (IFNAMSIZ less the NUL): "ééééééééé" is 9 characters but 18 bytes
  if (Buffer.byteLength(name) > 15) throw bad('longer than 15 bytes')
  if (name === '.' || name === '..') throw bad('"." and ".." are not allowed')
  if (/[/:\s]/.test(name)) throw bad('"/", ":" and whitespace are not allowed')
}

// A file name must fit NAME_MAX (255 bytes) with room for a temp-file prefix and suffix.
const MAX_FILE_NAME = 200

/**
 * `name` itself when it fits in a file name, else its start and a hash of the whole: container IDs have no
 * length limit, and a name that fails with ENAMETOOLONG half-way through ADD would leak what was done.
 */
export function fileNameFor(name: string): string {
  if (Buffer.byteLength(name) <= MAX_FILE_NAME) return name
  // node:crypto only on this rare path: loading it costs every CNI call a few ms
  const hash = (require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(name).digest('hex')
  return `${Buffer.from(name).subarray(0, 120).toString('latin1').replace(/[^\x20-\x7e]/g, '_')}~${hash}`
}
