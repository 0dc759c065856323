// Loads the native addons (netlink, koffi). Every other module gets them from here. Inside the single
// executable the addons ride as SEA assets: each is written once, content-addressed, to a directory that
// allows exec (dlopen needs it) and loaded from there.
import fs from 'node:fs'
import path from 'node:path'

export interface NetlinkApi {
  createRtNetlink: typeof import('netlink').createRtNetlink
  FlagsNew: typeof import('netlink').FlagsNew
  RawNetlinkSocket: typeof import('netlink').RawNetlinkSocket
}

/** Only the rtnetlink part of node-netlink: its index also loads genl, nl80211 and wireguard (~10 ms). */
export function loadNetlink(): NetlinkApi {
  const rt = require('netlink/dist/rt/rt') as typeof import('netlink')
  const constants = require('netlink/dist/constants') as typeof import('netlink')
  const raw = require('netlink/dist/raw') as typeof import('netlink')
  return { createRtNetlink: rt.createRtNetlink, FlagsNew: constants.FlagsNew, RawNetlinkSocket: raw.RawNetlinkSocket }
}

/** node-netlink's generic netlink socket (devlink): loaded only by the passes that ask a driver over devlink. */
export function loadGenericNetlink(): typeof import('netlink/dist/genl/genl') {
  return require('netlink/dist/genl/genl') as typeof import('netlink/dist/genl/genl')
}

export function loadKoffi(): typeof import('koffi') {
  return require('koffi')
}

/**
 * Candidate directories for extracted addons, first one that works wins (a tmpfs may be noexec). Never a
 * world-writable place such as /tmp: whoever can write there could plant a library we would run as root.
 */
function addonDirs(): string[] {
  const dirs = [process.env.SRIOV_ADDON_DIR, '/var/run/sriov-ts', '/var/lib/cni/sriov/.addons']
  return dirs.filter((d): d is string => !!d)
}

// The build stamps each asset's content hash here, so a warm start neither reads nor hashes the asset.
declare const SEA_ADDON_HASHES: Record<string, string> | undefined

/** Loads the addon `asset` from the running single executable. */
export function loadSeaAddon(asset: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sea = require('node:sea') as { isSea(): boolean; getAsset(key: string): ArrayBuffer }
  let bytes: Buffer | undefined
  const content = () => (bytes ??= Buffer.from(sea.getAsset(asset)))
  const stamped = typeof SEA_ADDON_HASHES === 'object' ? SEA_ADDON_HASHES[asset] : undefined
  // node:crypto only when the build did not stamp a hash: loading it costs a CNI call a few ms
  const hash = stamped ?? (require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(content()).digest('hex').slice(0, 16)
  const errors: string[] = []
  for (const dir of addonDirs()) {
    const file = path.join(dir, `${hash}-${asset}`)
    try {
      trustedDir(dir)
      if (!sameContent(file, content)) {
        const tmp = `${file}.${process.pid}.tmp`
        fs.rmSync(tmp, { force: true })
        const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o500)
        try {
          fs.fchmodSync(fd, 0o500)
          fs.writeSync(fd, content())
        } finally {
          fs.closeSync(fd)
        }
        fs.renameSync(tmp, file)
      }
      const mod = { exports: {} as unknown }
      process.dlopen(mod, file)
      return mod.exports
    } catch (e) {
      errors.push(`${dir}: ${(e as Error).message}`)
    }
  }
  throw new Error(`cannot load native addon ${asset}; set SRIOV_ADDON_DIR to a directory owned by ${process.geteuid?.() === 0 ? 'root' : 'this user'}, writable by nobody else, on a filesystem that allows exec (${errors.join('; ')})`)
}

/**
 * Creates `dir` if needed and checks that only this user (root) can change what is in it: the directory and
 * every directory above it owned by root or us, and not writable by others unless sticky (like /tmp's parent).
 */
function trustedDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const me = process.geteuid?.() ?? 0
  const own = fs.lstatSync(dir)
  if (!own.isDirectory()) throw new Error(`${dir} is not a directory`)
  if (own.uid !== me || own.mode & 0o022) throw new Error(`${dir} must be owned by uid ${me} and writable by nobody else (it is uid ${own.uid}, mode ${(own.mode & 0o7777).toString(8)})`)
  for (let up = path.dirname(dir); ; up = path.dirname(up)) {
    const st = fs.statSync(up)
    if ((st.uid !== 0 && st.uid !== me) || (st.mode & 0o022 && !(st.mode & 0o1000))) {
      throw new Error(`${up} (above ${dir}) can be changed by other users (uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)})`)
    }
    if (up === path.dirname(up)) break
  }
}

/** True when `file` is our own regular file (not a link, not writable by others) holding exactly `content`. */
function sameContent(file: string, content: () => Buffer): boolean {
  let st: fs.Stats
  try {
    st = fs.lstatSync(file)
  } catch {
    return false
  }
  if (!st.isFile() || st.uid !== (process.geteuid?.() ?? 0) || st.mode & 0o022) {
    fs.rmSync(file, { force: true })
    return false
  }
  const want = content()
  if (st.size !== want.length) return false
  return fs.readFileSync(file).equals(want)
}
