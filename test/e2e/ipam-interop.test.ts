// Our host-local (standalone executable) and the reference host-local on one data directory.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { execPlugin, ourHostLocal, referencePlugin, snapshotTree } from '../helpers/plugin-exec'

const ours = ourHostLocal(t)
const ref = referencePlugin('host-local')

function network(t: any, ipam: object) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'interop-'))
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const conf = { cniVersion: '1.0.0', name: 'interop', type: 'host-local', ipam: { type: 'host-local', dataDir, ...ipam } }
  return { conf, dir: path.join(dataDir, 'interop') }
}
const add = (bin: string, conf: object, id: string, ifname = 'net1', args = '') => execPlugin(bin, conf, { command: 'ADD', containerId: id, netns: '/var/run/netns/x', ifname, args })
const del = (bin: string, conf: object, id: string, ifname = 'net1') => execPlugin(bin, conf, { command: 'DEL', containerId: id, ifname })

t.test('alternating allocations continue one round-robin; each releases the other', async (t) => {
  const { conf, dir } = network(t, { ranges: [[{ subnet: '10.20.0.0/24' }]] })
  const got: string[] = []
  for (const [i, bin] of [ours, ref, ours, ref].entries()) {
    const r = await add(bin, conf, `ctr${i}`)
    t.equal(r.code, 0, r.stdout)
    got.push(r.json.ips[0].address)
  }
  t.same(got, ['10.20.0.2/24', '10.20.0.3/24', '10.20.0.4/24', '10.20.0.5/24'])
  t.equal((await del(ours, conf, 'ctr1')).code, 0, 'ours releases a reference lease')
  t.equal((await del(ref, conf, 'ctr0')).code, 0, 'reference releases our lease')
  t.same(Object.keys(snapshotTree(dir)).sort(), ['10.20.0.4', '10.20.0.5', 'last_reserved_ip.0', 'lock'])
  const dup = await add(ref, conf, 'ctr2')
  t.not(dup.code, 0, 'reference sees our lease as a duplicate')
  const dup2 = await add(ours, conf, 'ctr3')
  t.match(dup2.json, { code: 7, msg: /duplicate allocation/ }, 'we see the reference lease as a duplicate')
})

t.test('the same operations leave byte-identical trees', async (t) => {
  const ipam = { ranges: [[{ subnet: '10.21.0.0/28', rangeStart: '10.21.0.3' }], [{ subnet: 'fd21::/120' }]], routes: [{ dst: '0.0.0.0/0' }] }
  const trees: Record<string, string>[] = []
  const outputs: unknown[][] = []
  for (const bin of [ours, ref]) {
    const { conf, dir } = network(t, ipam)
    const out: unknown[] = []
    out.push((await add(bin, conf, 'a')).json)
    out.push((await add(bin, conf, 'b', 'eth1', 'IP=10.21.0.9')).json)
    out.push((await add(bin, conf, 'c')).json)
    await del(bin, conf, 'a')
    out.push((await add(bin, conf, 'd')).json)
    await del(bin, conf, 'nonexistent')
    trees.push(snapshotTree(dir))
    outputs.push(out)
  }
  t.same(trees[0], trees[1])
  t.same(outputs[0], outputs[1], 'same results printed')
})

t.test('64 parallel ADDs, ours and the reference mixed: distinct IPs, none lost, exhaustion reported', async (t) => {
  const { conf, dir } = network(t, { ranges: [[{ subnet: '10.22.0.0/26' }]] }) // .2-.62: 61 addresses
  const runs = await Promise.all(Array.from({ length: 64 }, (_, i) => add(i % 2 ? ref : ours, conf, `p${i}`)))
  const ok = runs.filter((r) => r.code === 0)
  const failed = runs.filter((r) => r.code !== 0)
  t.equal(ok.length, 61)
  const ips = ok.map((r) => r.json.ips[0].address)
  t.equal(new Set(ips).size, 61, 'every IP distinct')
  for (const f of failed) t.match(f.stdout, /no IP addresses available in range set: 10\.22\.0\.1-10\.22\.0\.62/)
  const leases = Object.keys(snapshotTree(dir)).filter((n) => n.startsWith('10.'))
  t.equal(leases.length, 61, 'one lease file per successful ADD')
})

t.test('kill -9 at random points leaves a store that DEL, GC and ADD handle', async (t) => {
  const { conf, dir } = network(t, { ranges: [[{ subnet: '10.23.0.0/27' }]] })
  let seed = 42
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  let killed = 0
  for (let i = 0; i < 40; i++) {
    const command = rand() < 0.6 ? 'ADD' : 'DEL'
    const delay = Math.floor(rand() * 80)
    const r = await execPlugin(ours, conf, {
      command, containerId: `k${i % 8}`, netns: '/x', ifname: 'net1',
      onSpawn: (child) => { setTimeout(() => child.kill('SIGKILL'), delay) },
    })
    if (r.signal === 'SIGKILL') killed++
    for (const [name, content] of Object.entries(snapshotTree(dir))) {
      if (name === 'lock') continue
      if (name.startsWith('last_reserved_ip.')) t.match(content, /^10\.23\.0\.\d+$/, 'last_reserved_ip is whole')
      else if (name.startsWith('10.')) t.match(content, /^k\d\r\nnet1$/, `lease ${name} is whole`)
    }
  }
  t.ok(killed > 0, `some runs were killed (${killed})`)
  const gc = await execPlugin(ours, { ...conf, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] }, { command: 'GC' })
  t.equal(gc.code, 0, gc.stdout)
  t.same(Object.keys(snapshotTree(dir)).filter((n) => n !== 'lock' && !n.startsWith('last_reserved_ip.')), [], 'GC removed every lease and temp file')
  t.equal((await add(ref, conf, 'after')).code, 0, 'the reference still allocates')
  t.equal((await add(ours, conf, 'after2')).code, 0, 'we still allocate')
})
