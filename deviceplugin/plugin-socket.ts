// Where a resource's socket lives. A unix socket address holds 107 bytes of path (108 with the NUL): with
// kubelet's /var/lib/kubelet/device-plugins/ a resource name of 55 or more characters no longer fits
// `sriov_<prefix>_<name>.sock`, and the kernel would bind a truncated path. Such a socket is named by as much of
// that name as fits plus a hash of the full resource name: stable across restarts, unique per resource.
import { createHash } from 'node:crypto'
import path = require('node:path')

export const MAX_SOCKET_PATH = 107
const HASH_CHARS = 16
const SHORTEST = `sriov-${'0'.repeat(HASH_CHARS)}.sock`

/** `dir/<file>.sock`, or `dir/<file cut short>-<hash of fullName>.sock` when that would not fit. */
export function socketPath(dir: string, file: string, fullName: string): string {
  const whole = path.join(dir, `${file}.sock`)
  if (Buffer.byteLength(whole) <= MAX_SOCKET_PATH) return whole
  const tail = `-${createHash('sha256').update(fullName).digest('hex').slice(0, HASH_CHARS)}.sock`
  const room = MAX_SOCKET_PATH - Buffer.byteLength(path.join(dir, tail))
  return path.join(dir, `${file.slice(0, Math.max(room, 0))}${tail}`) // file is ASCII: prefix and name are validated
}

/** Why `dir` cannot hold our sockets (too long for even a hashed name), or undefined. */
export function socketDirProblem(dir: string): string | undefined {
  const shortest = Buffer.byteLength(path.join(dir, SHORTEST))
  if (shortest <= MAX_SOCKET_PATH) return undefined
  return `${dir} is too long for unix sockets: a socket path there has at least ${shortest} bytes, the kernel takes ${MAX_SOCKET_PATH}`
}
