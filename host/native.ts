// Loads the native addons (netlink, koffi). Every other module gets them from here. Inside the single
// executable the addons ride as SEA assets. They are loaded from the copies shipped beside the executable
// (`../lib/sriov-ts/`, the image's /usr/lib/sriov-ts: read-only roots work) when those equal the embedded
// ones; otherwise each is written once, content-addressed, to a directory that allows exec (dlopen needs it).
import fs = require('node:fs')
import path = require('node:path')
import { seams } from './seams'
import { makeDirs } from './make-dirs'
import { removeFile } from './remove-file'

export interface NetlinkApi {
  RawNetlinkSocket: typeof import('netlink').RawNetlinkSocket
}

/** Only node-netlink's raw socket: its index also loads genl, nl80211, wireguard and a generated rtnetlink layer (~20 ms). */
export function loadNetlink(): NetlinkApi {
  const raw = require('netlink/dist/raw') as typeof import('netlink')
  return { RawNetlinkSocket: raw.RawNetlinkSocket }
}

/** node-netlink's generic netlink socket (devlink): loaded only by the passes that ask a driver over devlink. */
export function loadGenericNetlink(): typeof import('netlink/dist/genl/genl') {
  return require('netlink/dist/genl/genl') as typeof import('netlink/dist/genl/genl')
}

export function loadKoffi(): typeof import('koffi') {
  return require('koffi')
}

/**
 * Candidate directories, first one that works wins (a tmpfs may be noexec): the one named in the environment,
 * the shipped copies (only read, never written), then places to write them. Never a world-writable place
 * such as /tmp: whoever can write there could plant a library we would run as root.
 */
function addonDirs(): { dir: string; shipped?: boolean }[] {
  const dirs: { dir: string; shipped?: boolean }[] = []
  const named = seams().addonDir
  if (named) dirs.push({ dir: named })
  dirs.push({ dir: path.join(path.dirname(process.execPath), '..', 'lib', 'sriov-ts'), shipped: true })
  dirs.push({ dir: '/var/run/sriov-ts' }, { dir: '/var/lib/cni/sriov/.addons' })
  return dirs
}

/** No usable copy of a native addon: a deployment error (mounts, ownership), not a passing one. */
export class NativeAddonError extends Error {}

// The build stamps each asset's content hash here, so a warm start neither reads nor hashes the asset.
declare const SEA_ADDON_HASHES: Record<string, string> | undefined

/** Loads the addon `asset` from the running single executable. */
export function loadSeaAddon(asset: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sea = require('node:sea') as { isSea(): boolean; getAsset(key: string): ArrayBuffer; getRawAsset?(key: string): ArrayBuffer }
  let bytes: Buffer | undefined
  // the raw asset is the executable's own mapped bytes: compared in place, no 1 MB copy
  const content = () => (bytes ??= Buffer.from(sea.getRawAsset ? sea.getRawAsset(asset) : sea.getAsset(asset)))
  const stamped = typeof SEA_ADDON_HASHES === 'object' ? SEA_ADDON_HASHES[asset] : undefined
  // node:crypto only when the build did not stamp a hash: loading it costs a CNI call a few ms
  const hash = stamped ?? (require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(content()).digest('hex').slice(0, 16)
  const errors: string[] = []
  for (const { dir, shipped } of addonDirs()) {
    const file = path.join(dir, `${hash}-${asset}`)
    try {
      if (shipped) {
        // only read: a missing or different copy (another build's) is passed over, never replaced
        if (!fs.existsSync(dir)) throw new Error('not there')
        trustedDir(dir, false)
        if (!sameCopy(file, content(), false)) throw new Error(`${path.basename(file)} is missing or differs from the executable's copy`)
      } else {
        trustedDir(dir, true)
        if (!sameCopy(file, content(), true)) writeCopy(file, content())
      }
      const mod = { exports: {} as unknown }
      process.dlopen(mod, file)
      return mod.exports
    } catch (e) {
      errors.push(`${dir}: ${(e as Error).message}`)
    }
  }
  throw new NativeAddonError(`cannot load native addon ${asset}; set SRIOV_ADDON_DIR to a directory owned by ${process.geteuid?.() === 0 ? 'root' : 'this user'}, writable by nobody else, on a filesystem that allows exec (${errors.join('; ')})`)
}

/** Writes `file` whole (mode 0500, never through a link) by renaming a private temporary file into place. */
function writeCopy(file: string, bytes: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`
  removeFile(tmp)
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o500)
  try {
    fs.fchmodSync(fd, 0o500)
    fs.writeSync(fd, bytes)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
}

/**
 * Creates `dir` if asked and checks that only this user (or root) can change what is in it: the directory and
 * every directory above it owned by root or us, and not writable by others unless sticky (like /tmp's parent).
 * A directory we write must be our own; one we only read (the shipped copies) may be root's.
 */
function trustedDir(dir: string, create: boolean): void {
  // a relative path would be checked only up to the working directory (its parents unseen)
  if (!path.isAbsolute(dir)) throw new Error(`${dir} is not an absolute path`)
  const me = process.geteuid?.() ?? 0
  // the directories above first, before anything is created under them
  for (let up = path.dirname(dir); ; up = path.dirname(up)) {
    let st: fs.Stats
    try {
      st = fs.statSync(up)
    } catch (e) {
      if (create && (e as NodeJS.ErrnoException).code === 'ENOENT') continue // created below, as ours
      throw e
    }
    if ((st.uid !== 0 && st.uid !== me) || (st.mode & 0o022 && !(st.mode & 0o1000))) {
      throw new Error(`${up} (above ${dir}) can be changed by other users (uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)})`)
    }
    if (up === path.dirname(up)) break
  }
  if (create) makeDirs(dir, 0o700)
  const own = fs.lstatSync(dir)
  if (!own.isDirectory()) throw new Error(`${dir} is not a directory`)
  if ((own.uid !== me && (create || own.uid !== 0)) || own.mode & 0o022) throw new Error(`${dir} must be owned by uid ${me} and writable by nobody else (it is uid ${own.uid}, mode ${(own.mode & 0o7777).toString(8)})`)
}

/**
 * True when `file` is a regular file (not a link) of ours (or root's, for a shipped copy), not writable by
 * others, holding exactly `content`. The bytes are compared every time: a copy of the right size but damaged
 * (a bad disk, a tampered image) would otherwise crash every call in dlopen. `ours`: a file we may remove when it
 * fails the checks (a damaged extracted copy is then written again).
 */
function sameCopy(file: string, content: Buffer, ours: boolean): boolean {
  let st: fs.Stats
  try {
    st = fs.lstatSync(file)
  } catch {
    return false
  }
  const me = process.geteuid?.() ?? 0
  if (!st.isFile() || (st.uid !== me && (ours || st.uid !== 0)) || st.mode & 0o022) {
    if (ours) removeFile(file)
    return false
  }
  if (st.size !== content.length) return false
  // compared a slice at a time through one small buffer: reading the whole file into a fresh 1 MB buffer
  // cost a call ~5 ms in page faults, more than the comparison itself
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
  try {
    const slice = Buffer.allocUnsafeSlow(64 * 1024)
    for (let off = 0; off < content.length; ) {
      const n = fs.readSync(fd, slice, 0, Math.min(slice.length, content.length - off), off)
      if (n <= 0 || slice.compare(content, off, off + n, 0, n) !== 0) return false
      off += n
    }
    return true
  } finally {
    fs.closeSync(fd)
  }
}
