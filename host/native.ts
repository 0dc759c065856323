// Loads the native addons (netlink, koffi). Every other module gets them from here. Inside the single
// executable the addons ride as SEA assets: each is written once, content-addressed, to a directory that
// allows exec (dlopen needs it) and loaded from there.
import fs from 'node:fs'
import os from 'node:os'
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

export function loadKoffi(): typeof import('koffi') {
  return require('koffi')
}

/** Candidate directories for extracted addons: first one where dlopen works wins (tmpfs may be noexec). */
function addonDirs(): string[] {
  const dirs = [process.env.SRIOV_ADDON_DIR, '/var/run/sriov-ts', '/var/lib/cni/sriov/.addons', path.join(os.tmpdir(), 'sriov-ts')]
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
      if (!fs.existsSync(file)) {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
        const tmp = `${file}.${process.pid}.tmp`
        fs.writeFileSync(tmp, content(), { mode: 0o700 })
        fs.renameSync(tmp, file)
      }
      const mod = { exports: {} as unknown }
      process.dlopen(mod, file)
      return mod.exports
    } catch (e) {
      errors.push(`${dir}: ${(e as Error).message}`)
    }
  }
  throw new Error(`cannot load native addon ${asset}; set SRIOV_ADDON_DIR to a writable directory that allows exec (${errors.join('; ')})`)
}
