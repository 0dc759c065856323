// A ConfigMap volume as kubelet keeps it: the data in a timestamped directory, `..data` pointing at it and one
// link per key through `..data`; an update writes a new directory and renames a new `..data` over the old.
import fs from 'node:fs'
import path from 'node:path'

let generation = 0

export function writeConfigMapVolume(dir: string, data: Record<string, string>): void {
  fs.mkdirSync(dir, { recursive: true })
  const old = fs.existsSync(path.join(dir, '..data')) ? fs.readlinkSync(path.join(dir, '..data')) : undefined
  const stamp = `..${new Date().toISOString().replace(/[-:T]/g, '_').replace(/\..*/, '')}.${process.pid}${generation++}`
  fs.mkdirSync(path.join(dir, stamp), { mode: 0o755 })
  for (const [key, value] of Object.entries(data)) fs.writeFileSync(path.join(dir, stamp, key), value, { mode: 0o644 })
  fs.symlinkSync(stamp, path.join(dir, '..data_tmp'))
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'))
  for (const key of Object.keys(data)) if (!fs.existsSync(path.join(dir, key))) fs.symlinkSync(path.join('..data', key), path.join(dir, key))
  for (const f of fs.readdirSync(dir)) if (!f.startsWith('..') && !(f in data)) fs.rmSync(path.join(dir, f))
  if (old) fs.rmSync(path.join(dir, old), { recursive: true, force: true })
}
