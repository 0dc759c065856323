// What ADD writes, and when, seen as the kernel sees it (strace): the allocation mark, then the record, renamed
// into place before the VF netdev moves, and nothing flushed to the device. What survives a kernel crash is an
// earlier boot's: every verb then undoes only what the attachment left on disk (leases, record, mark), and leaves
// the VF and its netdev as the reboot (and whoever configured them since) left them.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { addNetns, ip, linkJson } from '../helpers/netns'
import { SRIOV_BIN, sriovNode, type SriovNode } from '../helpers/sriov-node'

const BOOT_ID = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
const EARLIER_BOOT = '00000000-0000-4000-8000-000000000001'

t.test('the write-ahead is in place before the move, the mark before the record; nothing is flushed', async (t) => {
  const node = sriovNode(t, 'tdu')
  const pod = addNetns(t, 'tdu')
  const trace = path.join(node.dir, 'strace.out')
  const env = { PATH: process.env.PATH!, ...node.env, CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'ctr1', CNI_NETNS: pod.path, CNI_IFNAME: 'net1', CNI_PATH: '/usr/lib/cni' }
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'signal=none', '-e', 'trace=fsync,fdatasync,syncfs,sync,sync_file_range,rename,sendto', '-o', trace, SRIOV_BIN], { input: JSON.stringify(node.conf()), env })
  t.equal(r.status, 0, `${r.stdout}${r.stderr}`)
  t.ok(linkJson('net1', pod.name), 'the VF is in the pod')
  const lines = fs.readFileSync(trace, 'utf8').split('\n')
  t.same(lines.filter((l) => /\b(f(data)?sync|syncfs|sync|sync_file_range)\(/.test(l)), [], 'no flush to the device')
  const events: string[] = []
  for (const line of lines) {
    const rename = /rename\("([^"]+)", "([^"]+)"\) = 0/.exec(line)
    if (rename) events.push(`rename ${rename[2]}`)
    if (/sendto\(.*IFLA_NET_NS_FD/.test(line)) events.push('move')
  }
  const mark = path.join(node.stateDir, 'pci', node.vfs[0].pci)
  const record = path.join(node.stateDir, 'ctr1-net1')
  const at = (e: string, from = 0) => events.indexOf(e, from)
  const move = at('move')
  t.ok(move > 0, `the move is seen (${events.join('; ')})`)
  t.ok(at(`rename ${mark}`) >= 0 && at(`rename ${mark}`) < at(`rename ${record}`) && at(`rename ${record}`) < move, 'the mark is in place before the record, both before the move')
  t.ok(at(`rename ${record}`, move) > move, 'the record is updated once the steps are done')
  t.equal(JSON.parse(fs.readFileSync(record, 'utf8')).bootId, BOOT_ID, "the record carries this boot's ID")
  t.equal((await node.run('DEL', node.conf(), { netns: pod.path })).code, 0)
})

/**
 * What a reboot does to an attachment: the pod's namespace is gone, the VF netdev is back on the host under its
 * own name with the MAC the driver gave it, the VF carries what was set at boot; only the files stay. The record
 * is made an earlier boot's by its boot ID (this test cannot reboot the machine).
 */
function reboot(t: Test, node: SriovNode, pod: { name: string }, atBoot: { vlan: number; mac: string }): void {
  const record = path.join(node.stateDir, 'ctr1-net1')
  const rec = JSON.parse(fs.readFileSync(record, 'utf8'))
  t.equal(rec.bootId, BOOT_ID)
  fs.writeFileSync(record, JSON.stringify({ ...rec, bootId: EARLIER_BOOT }))
  const netdev = node.vfs[0].netdev!
  ip('-n', pod.name, 'link', 'set', 'net1', 'down')
  ip('-n', pod.name, 'link', 'set', 'net1', 'netns', '1', 'name', netdev)
  ip('link', 'set', netdev, 'address', atBoot.mac)
  ip('netns', 'del', pod.name)
  fs.writeFileSync(node.vfConfigFile, JSON.stringify({ '0': { vlan: atBoot.vlan } }))
}

for (const how of ['DEL', 'GC'] as const) {
  t.test(`${how} of an attachment made before the node restarted releases its lease, record and mark, and leaves the VF as it is`, async (t) => {
    const node = sriovNode(t, 'tdb')
    const pod = addNetns(t, 'tdb')
    const conf = node.conf({ vlan: 100, mac: '02:00:00:00:10:01' }, '1.1.0')
    const add = await node.run('ADD', conf, { netns: pod.path })
    t.equal(add.code, 0, add.stdout)
    t.ok(fs.readdirSync(path.join(node.dataDir, 'sriov-201')).some((f) => /^192\.168\.201\.\d+$/.test(f)), 'the lease is taken')
    reboot(t, node, pod, { vlan: 7, mac: '02:00:00:00:07:07' })
    const after = node.snapshot()
    const check = await node.run('CHECK', { ...conf, prevResult: add.json }, { netns: pod.path })
    t.match(check.json, { code: 999, msg: /made before the node restarted/ }, 'CHECK says why it fails')
    const r = how === 'DEL' ? await node.run('DEL', conf, { netns: pod.path }) : await node.run('GC', { ...conf, 'cni.dev/valid-attachments': [] })
    t.equal(r.code, 0, `${r.stdout}${r.stderr}`)
    t.same(node.snapshot(), after, "the VF's config and its netdev as the reboot left them (not the config before the ADD)")
    t.match(r.stderr, /made before the node restarted/, 'the log says why')
    t.same(node.leftovers(), [], 'no record, mark, lease or index entry left')
  })
}

t.test("the next pod's ADD after a restart takes the VF without restoring the earlier boot's state, and the dead pod's late DEL changes nothing", async (t) => {
  const node = sriovNode(t, 'tdn')
  const first = addNetns(t, 'tdn')
  t.equal((await node.run('ADD', node.conf({ vlan: 100 }), { netns: first.path })).code, 0)
  reboot(t, node, first, { vlan: 7, mac: '02:00:00:00:07:07' })
  const atBoot = node.snapshot()
  const next = addNetns(t, 'tdn')
  const add = await node.run('ADD', node.conf({ vlan: 200 }), { netns: next.path, containerId: 'next' })
  t.equal(add.code, 0, add.stdout)
  t.match(add.stderr, /reclaiming VF 0000:01:10.0 from an attachment made before the node restarted/)
  t.match(node.vfConfig()['0'], { vlan: 200 })
  t.equal(JSON.parse(fs.readFileSync(path.join(node.stateDir, 'next-net1'), 'utf8')).origVf.vlan, 7, "the next pod's original state is the VF as it was at boot")
  // the runtime cleans up the dead pod's sandbox after the restart
  const late = await node.run('DEL', node.conf({ vlan: 100 }), { netns: first.path })
  t.equal(late.code, 0, late.stdout)
  t.match(node.vfConfig()['0'], { vlan: 200 }, "the late DEL leaves the next pod's VLAN")
  t.ok(linkJson('net1', next.name), 'and its netdev in its pod')
  t.equal((await node.run('DEL', node.conf({ vlan: 200 }), { netns: next.path, containerId: 'next' })).code, 0)
  t.same(node.snapshot(), atBoot, "the next pod's DEL puts back the VF as it was at boot")
  t.same(node.leftovers(), [])
})

t.test('what a power cut can leave, a record and a mark renamed into place before their data reached the disk: the next pod takes the VF, the late DEL removes the empty record', async (t) => {
  const node = sriovNode(t, 'tdp')
  const first = addNetns(t, 'tdp')
  t.equal((await node.run('ADD', node.conf({ vlan: 100 }), { netns: first.path })).code, 0)
  reboot(t, node, first, { vlan: 7, mac: '02:00:00:00:07:07' })
  const record = path.join(node.stateDir, 'ctr1-net1')
  fs.writeFileSync(record, '')
  fs.writeFileSync(path.join(node.stateDir, 'pci', node.vfs[0].pci), '')
  const atBoot = node.snapshot()
  const next = addNetns(t, 'tdp')
  const add = await node.run('ADD', node.conf({ vlan: 200 }), { netns: next.path, containerId: 'next' })
  t.equal(add.code, 0, add.stdout)
  t.equal(JSON.parse(fs.readFileSync(path.join(node.stateDir, 'next-net1'), 'utf8')).origVf.vlan, 7)
  const late = await node.run('DEL', node.conf({ vlan: 100 }), { netns: first.path })
  t.equal(late.code, 0, late.stdout)
  t.match(late.stderr, /record is empty \(a power cut/)
  t.match(node.vfConfig()['0'], { vlan: 200 }, "the late DEL leaves the next pod's VLAN")
  t.ok(linkJson('net1', next.name), 'and its netdev in its pod')
  t.equal((await node.run('DEL', node.conf({ vlan: 200 }), { netns: next.path, containerId: 'next' })).code, 0)
  t.same(node.snapshot(), atBoot)
  t.same(node.leftovers(), [], 'nothing left: an empty record holds nothing to keep')
})

t.test("an earlier boot's record whose mark a power cut left empty: the next pod's ADD on its VF releases it", async (t) => {
  const node = sriovNode(t, 'tde')
  const first = addNetns(t, 'tde')
  t.equal((await node.run('ADD', node.conf({ vlan: 100 }), { netns: first.path })).code, 0)
  const leases = () => fs.readdirSync(path.join(node.dataDir, 'sriov-201')).filter((f) => /^192\./.test(f))
  t.equal(leases().length, 1)
  reboot(t, node, first, { vlan: 7, mac: '02:00:00:00:07:07' })
  fs.writeFileSync(path.join(node.stateDir, 'pci', node.vfs[0].pci), '')
  const next = addNetns(t, 'tde')
  const add = await node.run('ADD', node.conf({ vlan: 200 }), { netns: next.path, containerId: 'next' })
  t.equal(add.code, 0, add.stdout)
  t.match(add.stderr, /reclaiming VF 0000:01:10.0 from an attachment made before the node restarted/)
  t.notOk(fs.existsSync(path.join(node.stateDir, 'ctr1-net1')), "the dead pod's record goes")
  t.equal(leases().length, 1, "and its lease: only the next pod's is left")
  t.equal(fs.readFileSync(path.join(node.stateDir, 'pci', node.vfs[0].pci), 'utf8'), next.path, "the mark is the next pod's")
  t.equal((await node.run('DEL', node.conf({ vlan: 200 }), { netns: next.path, containerId: 'next' })).code, 0)
  t.same(node.leftovers(), [])
})

t.test('GC removes what a power cut left empty: a record, its mark', async (t) => {
  const node = sriovNode(t, 'tdg')
  const pod = addNetns(t, 'tdg')
  const conf = node.conf({ vlan: 100 }, '1.1.0')
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  reboot(t, node, pod, { vlan: 7, mac: '02:00:00:00:07:07' })
  fs.writeFileSync(path.join(node.stateDir, 'ctr1-net1'), '')
  fs.writeFileSync(path.join(node.stateDir, 'pci', node.vfs[0].pci), '')
  const after = node.snapshot()
  const gc = await node.run('GC', { ...conf, 'cni.dev/valid-attachments': [] })
  t.equal(gc.code, 0, gc.stdout)
  t.match(gc.stderr, /GC removed an attachment record a power cut left empty/)
  t.same(node.snapshot(), after, 'the VF as the reboot left it')
  t.same(node.leftovers(), [], 'no record, mark or lease left')
})

t.test('a lease a power cut left empty names nobody: its address is handed out again', async (t) => {
  const node = sriovNode(t, 'tdl')
  const first = addNetns(t, 'tdl')
  // a /30 has one address to give (the first is the gateway): the next pod needs the dead pod's
  const conf = (vlan: number) => node.conf({ vlan, ipam: { type: 'host-local', dataDir: node.dataDir, ranges: [[{ subnet: '192.168.201.0/30' }]] } })
  t.equal((await node.run('ADD', conf(100), { netns: first.path })).code, 0)
  reboot(t, node, first, { vlan: 7, mac: '02:00:00:00:07:07' })
  const lease = path.join(node.dataDir, 'sriov-201', '192.168.201.2')
  fs.writeFileSync(lease, '')
  fs.rmSync(path.join(node.stateDir, 'ctr1-net1')) // and the record did not reach the disk: nothing says whose it was
  const next = addNetns(t, 'tdl')
  const add = await node.run('ADD', conf(200), { netns: next.path, containerId: 'next' })
  t.equal(add.code, 0, add.stdout)
  t.match(add.json, { ips: [{ address: '192.168.201.2/30' }] })
  t.equal(fs.readFileSync(lease, 'utf8'), 'next\r\nnet1', "the lease is the next pod's")
  const late = await node.run('DEL', conf(100), { netns: first.path })
  t.equal(late.code, 0, late.stdout)
  t.equal(fs.readFileSync(lease, 'utf8'), 'next\r\nnet1', "the dead pod's late DEL leaves it")
  t.equal((await node.run('DEL', conf(200), { netns: next.path, containerId: 'next' })).code, 0)
  t.same(node.leftovers(), [])
})

t.test("a Go sriov-cni record without an allocation mark: the next pod's ADD takes the VF, and the dead pod's late DEL leaves it to that pod", async (t) => {
  const node = sriovNode(t, 'tdo')
  const vf = node.vfs[0]
  // what sriov-cni before its allocation marks left for a pod that died without a DEL: the VF back on the host
  // (the kernel returns it when the namespace goes), VLAN 300 still on the PF, the record, no mark
  fs.mkdirSync(path.dirname(node.vfConfigFile), { recursive: true })
  fs.writeFileSync(node.vfConfigFile, JSON.stringify({ 0: { vlan: 300 } }))
  fs.mkdirSync(node.stateDir, { recursive: true })
  const goRecord = {
    cniVersion: '0.3.1', name: 'sriov-201', type: 'sriov', deviceID: vf.pci, vlan: 300, Master: node.pf, VFID: 0,
    OrigVfState: { HostIFName: vf.netdev, SpoofChk: true, Trust: false, AdminMAC: '00:00:00:00:00:00', EffectiveMAC: vf.mac, Vlan: 0, VlanQoS: 0, VlanProto: 33024, MinTxRate: 0, MaxTxRate: 0, LinkState: 0, MTU: 1500 },
  }
  fs.writeFileSync(path.join(node.stateDir, 'deadbeef-net1'), JSON.stringify(goRecord))
  const next = addNetns(t, 'tdo')
  const add = await node.run('ADD', node.conf({ vlan: 200, mac: '02:00:00:00:20:20' }), { netns: next.path, containerId: 'next' })
  t.equal(add.code, 0, add.stdout)
  const late = await node.run('DEL', { cniVersion: '0.3.1', name: 'sriov-201', type: 'sriov', deviceID: vf.pci, vlan: 300 }, { netns: '/var/run/netns/gone-tdo', containerId: 'deadbeef' })
  t.equal(late.code, 0, late.stdout)
  t.match(late.stderr, /serves another attachment now/)
  t.match(node.vfConfig()['0'], { vlan: 200, mac: '02:00:00:00:20:20' }, "the next pod's VF config stays")
  t.equal(linkJson('net1', next.name)?.address, '02:00:00:00:20:20', 'and its netdev in its pod')
  t.notOk(fs.existsSync(path.join(node.stateDir, 'deadbeef-net1')), "the dead pod's record goes")
  t.ok(fs.existsSync(path.join(node.stateDir, 'pci', vf.pci)), "the VF's mark stays the next pod's")
  t.equal((await node.run('DEL', node.conf({ vlan: 200, mac: '02:00:00:00:20:20' }), { netns: next.path, containerId: 'next' })).code, 0)
  t.match(node.vfConfig()['0'], { vlan: 300 }, "the next pod's DEL puts back what it found")
  t.same(node.leftovers(), [])
})
