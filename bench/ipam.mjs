// IPAM benchmark: ADD+DEL per operation on a /16 with 0, 1,000 and 10,000 existing leases, for our
// in-process allocator, our executable in standalone host-local mode, the reference host-local, and bare
// `node -e 0`, measured in one run. Prints medians and ratios. Usage: node bench/ipam.mjs [iterations]
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const N = Number(process.argv[2] ?? 15)
const ourBin = path.join(root, 'dist/bin/sriov')
const refBin = '/usr/lib/cni/host-local'
for (const f of [ourBin, refBin]) if (!fs.existsSync(f)) throw new Error(`${f} missing (npm run build; apt-get install containernetworking-plugins)`)

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ipam-'))
fs.symlinkSync(ourBin, path.join(work, 'host-local'))
// bundled under dist/ so that the native addons resolve from node_modules
execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), 'bench'], { stdio: 'inherit' })
const lib = path.join(root, 'dist/bench/host-local.cjs')
const ipam = createRequire(path.join(root, 'package.json'))(lib)

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6

function makeNetwork(leases) {
  const dataDir = fs.mkdtempSync(path.join(work, 'data-'))
  const dir = path.join(dataDir, 'bench')
  fs.mkdirSync(dir)
  for (let i = 0; i < leases; i++) fs.writeFileSync(path.join(dir, `10.50.${(i + 2) >> 8}.${(i + 2) & 255}`), `existing${i}\r\neth0`)
  if (leases) fs.writeFileSync(path.join(dir, 'last_reserved_ip.0'), `10.50.${(leases + 1) >> 8}.${(leases + 1) & 255}`)
  return { cniVersion: '1.0.0', name: 'bench', type: 'host-local', ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.50.0.0/16' }]] } }
}

function execOp(bin, conf, command, id) {
  const r = spawnSync(bin, [], {
    input: JSON.stringify(conf),
    env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: '/x', CNI_IFNAME: 'net1', CNI_PATH: '/usr/lib/cni' },
  })
  if (r.status !== 0) throw new Error(`${bin} ${command}: ${r.stdout}${r.stderr}`)
}

function execAddDel(bin, conf) {
  const times = []
  for (let i = 0; i <= N; i++) {
    const t0 = process.hrtime.bigint()
    execOp(bin, conf, 'ADD', `b${i}`)
    execOp(bin, conf, 'DEL', `b${i}`)
    if (i > 0) times.push(ms(t0)) // the first run warms caches and our lease index
  }
  return median(times)
}

async function inProcess(conf) {
  const { parseNetConf } = createRequire(path.join(root, 'package.json'))(lib2)
  const cfg = ipam.parseHostLocal(parseNetConf(JSON.stringify(conf)), { args: {} })
  const add = []
  const both = []
  for (let i = 0; i <= N * 4; i++) {
    const t0 = process.hrtime.bigint()
    await ipam.allocate(cfg, `p${i}`, 'net1')
    const t1 = ms(t0)
    await ipam.release(cfg, `p${i}`, 'net1')
    if (i > 0) { add.push(t1); both.push(ms(t0)) }
  }
  return { add: median(add), both: median(both) }
}

const lib2 = path.join(root, 'dist/bench/netconf.cjs')

const nodeTimes = []
for (let i = 0; i <= N; i++) {
  const t0 = process.hrtime.bigint()
  spawnSync(process.execPath, ['-e', '0'], { env: { PATH: process.env.PATH } }) // the environment a runtime gives a plugin
  if (i > 0) nodeTimes.push(ms(t0))
}
const nodeBare = median(nodeTimes)
console.log(`bare node -e 0: ${nodeBare.toFixed(1)} ms per exec (median of ${N})`)
console.log('leases | in-process ADD | in-process ADD+DEL | ours exec ADD+DEL | reference exec ADD+DEL | ours/ref | ours per exec / node -e 0')
for (const leases of [0, 1000, 10000]) {
  const inproc = await inProcess(makeNetwork(leases))
  const oursT = execAddDel(path.join(work, 'host-local'), makeNetwork(leases))
  const refT = execAddDel(refBin, makeNetwork(leases))
  console.log(`${String(leases).padStart(6)} | ${inproc.add.toFixed(2).padStart(11)} ms | ${inproc.both.toFixed(2).padStart(15)} ms | ${oursT.toFixed(1).padStart(14)} ms | ${refT.toFixed(1).padStart(19)} ms | ${(oursT / refT).toFixed(2).padStart(7)}x | ${(oursT / 2 / nodeBare).toFixed(2)}x`)
}
fs.rmSync(work, { recursive: true, force: true })
