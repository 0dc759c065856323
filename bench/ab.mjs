// Interleaved A/B of builds of `sriov`: ADD and DEL p50 of each, and the median of the paired differences
// against the first (rounds alternate the order, so machine noise hits every build alike). Root only.
// Usage: node bench/ab.mjs <rounds> <dist A> <dist B> [...], each a copy of a build's dist/ (bin/sriov and
// lib/sriov-ts). Each build has its own state, IPAM and VF config; they share one veth and pod namespace.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { readBackFromDisk } from './read-back.mjs'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const [rounds, ...dists] = process.argv.slice(2)
const N = Number(rounds)
if (!N || dists.length < 2) throw new Error('usage: node bench/ab.mjs <rounds> <dist A> <dist B> [...]')
for (const d of dists) if (!fs.existsSync(path.join(d, 'bin/sriov'))) throw new Error(`${d}/bin/sriov missing: give copies of a build's dist/`)
if (!fs.existsSync(path.join(root, 'dist/bench/fake-sysfs.cjs'))) execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), 'bench'], { stdio: 'inherit' })

// every executable and addon read back from disk once, as bench/cni.mjs does
for (const d of dists) {
  readBackFromDisk(path.join(d, 'bin/sriov'))
  for (const f of fs.readdirSync(path.join(d, 'lib/sriov-ts'))) readBackFromDisk(path.join(d, 'lib/sriov-ts', f))
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ab-'))
const { buildFakeSysfs } = createRequire(import.meta.url)(path.join(root, 'dist/bench/fake-sysfs.cjs'))
const ip = (...a) => execFileSync('ip', a, { stdio: 'ignore' })
const ns = `bab${process.pid}`
const veth = `bab${process.pid % 10000}`
ip('netns', 'add', ns)
ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`)
ip('link', 'set', `${veth}p`, 'up')
buildFakeSysfs(path.join(work, 'sys'), [{ pci: '0000:01:00.0', name: 'benchpf', vfs: [{ pci: '0000:01:10.0', netdev: veth }] }])
const env = (command, id, k) => ({
  PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/var/run/netns/${ns}`, CNI_IFNAME: 'net1', CNI_PATH: '/usr/lib/cni',
  SRIOV_SYSFS_ROOT: path.join(work, 'sys'), SRIOV_VF_CONFIG: `record:${path.join(work, `vf${k}`)}`, SRIOV_STATE_DIR: path.join(work, `state${k}`),
})
const conf = (k) => JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'sriov', deviceID: '0000:01:10.0', vlan: 100, mac: '02:00:00:00:00:42', ipam: { type: 'host-local', dataDir: path.join(work, `ipam${k}`), ranges: [[{ subnet: '10.60.0.0/16' }]] } })
function timed(bin, input, e) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(bin, [], { input, env: e })
  if (r.status !== 0) throw new Error(`${bin} ${e.CNI_COMMAND} failed: ${r.stdout}${r.stderr}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const res = dists.map(() => ({ add: [], del: [] }))
try {
  for (let i = 0; i <= N; i++) {
    // the first round only warms up
    const order = i % 2 ? [...dists.keys()].reverse() : [...dists.keys()]
    for (const k of order) {
      const bin = path.join(dists[k], 'bin/sriov')
      const a = timed(bin, conf(k), env('ADD', `ab${i}`, k))
      const d = timed(bin, conf(k), env('DEL', `ab${i}`, k))
      if (i) { res[k].add.push(a); res[k].del.push(d) }
    }
  }
} finally {
  try { ip('netns', 'del', ns) } catch {}
  try { ip('link', 'del', veth) } catch {}
  fs.rmSync(work, { recursive: true, force: true })
}
console.log(`${N} rounds, interleaved`)
dists.forEach((d, k) => console.log(`${d}: ADD p50 ${med(res[k].add).toFixed(1)} ms, DEL p50 ${med(res[k].del).toFixed(1)} ms`))
for (let k = 1; k < dists.length; k++) {
  const diff = (verb) => med(res[k][verb].map((x, i) => x - res[0][verb][i])).toFixed(1)
  console.log(`${dists[k]} - ${dists[0]}: median paired difference ADD ${diff('add')} ms, DEL ${diff('del')} ms`)
}
