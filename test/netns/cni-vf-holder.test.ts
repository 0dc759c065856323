// Who holds a VF: the pod whose live namespace the VF's allocation mark names, whoever wrote the mark (we, or Go
// sriov-cni on a node upgraded in place, or downgraded and upgraded again). A late DEL or a GC of a stale
// attachment on that VF releases the stale one's record and leases only, and an ADD of another pod is refused.
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { addNetns, ip, linkJson } from '../helpers/netns'
import { sriovNode, type SriovNode } from '../helpers/sriov-node'

const BOOT_ID = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()

/**
 * What Go sriov-cni saves at ADD (its NetConf with the VF's original state): it does not say the namespace, and
 * of the IPAM section it keeps only the type (Go's types.IPAM).
 */
function writeGoRecord(node: SriovNode, containerId: string, vlan: number): void {
  const vf = node.vfs[0]
  const raw = {
    cniVersion: '1.0.0', name: 'sriov-201', type: 'sriov', ipam: { type: 'host-local' }, deviceID: vf.pci, vlan, Master: node.pf, VFID: 0,
    OrigVfState: { HostIFName: vf.netdev, SpoofChk: true, Trust: false, AdminMAC: '00:00:00:00:00:00', EffectiveMAC: vf.mac, Vlan: 0, VlanQoS: 0, MinTxRate: 0, MaxTxRate: 0, LinkState: 0 },
  }
  fs.mkdirSync(node.stateDir, { recursive: true })
  fs.writeFileSync(path.join(node.stateDir, `${containerId}-net1`), JSON.stringify(raw))
}

/** A lease as host-local writes it. */
function writeLease(node: SriovNode, address: string, containerId: string): string {
  const dir = path.join(node.dataDir, 'sriov-201')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, address), `${containerId}\r\nnet1`)
  return path.join(dir, address)
}

/** A Go sriov-cni pod's ADD on VF 0: VLAN 200 on the PF, the netdev in the pod, its record, lease and mark. */
function goPodTakesVf(node: SriovNode, pod: { name: string; path: string }): { lease: string; mark: string } {
  const vf = node.vfs[0]
  fs.mkdirSync(path.dirname(node.vfConfigFile), { recursive: true })
  fs.writeFileSync(node.vfConfigFile, JSON.stringify({ 0: { vlan: 200 } }))
  ip('link', 'set', vf.netdev!, 'netns', pod.name, 'name', 'net1')
  writeGoRecord(node, 'cafe', 200)
  const mark = path.join(node.stateDir, 'pci', vf.pci)
  fs.mkdirSync(path.dirname(mark), { recursive: true })
  fs.writeFileSync(mark, pod.path)
  return { lease: writeLease(node, '192.168.201.3', 'cafe'), mark }
}

function goPodUntouched(t: Test, node: SriovNode, pod: { name: string; path: string }, held: { lease: string; mark: string }): void {
  t.match(node.vfConfig()['0'], { vlan: 200 }, "the live pod's VLAN stays on the PF")
  t.ok(linkJson('net1', pod.name), 'its netdev stays in its pod')
  t.equal(fs.readFileSync(held.mark, 'utf8'), pod.path, "the VF's mark stays its")
  t.ok(fs.existsSync(held.lease), 'its lease stays')
  t.ok(fs.existsSync(path.join(node.stateDir, 'cafe-net1')), 'its record stays')
}

/**
 * A pod that died without its DEL, whose Go record and lease stayed ("deadbeef", VLAN 300), and a live Go pod
 * that has taken VF 0 since ("cafe"); `marks: false` as Go sriov-cni before v2.7, which wrote none.
 */
function staleAndLiveGoPods(node: SriovNode, live: { name: string; path: string }, marks = true): { deadLease: string; held: { lease: string; mark: string } } {
  writeGoRecord(node, 'deadbeef', 300)
  const deadLease = writeLease(node, '192.168.201.2', 'deadbeef')
  const held = goPodTakesVf(node, live)
  if (!marks) fs.rmSync(held.mark)
  return { deadLease, held }
}

for (const how of ['DEL', 'GC'] as const) {
  t.test(`a dead pod's Go sriov-cni record on a VF a live Go sriov-cni pod holds: ${how} releases the dead one's record and lease, and leaves the live pod its VF`, async (t) => {
    const node = sriovNode(t, 'tvg')
    const live = addNetns(t, 'tvg')
    const { deadLease, held } = staleAndLiveGoPods(node, live)
    const r = how === 'DEL'
      ? await node.run('DEL', node.conf({ vlan: 300 }), { netns: '/var/run/netns/gone-tvg', containerId: 'deadbeef' })
      : await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [{ containerID: 'cafe', ifname: 'net1' }] })
    t.equal(r.code, 0, r.stdout)
    t.match(r.stderr, /serves another attachment now/)
    goPodUntouched(t, node, live, held)
    t.notOk(fs.existsSync(path.join(node.stateDir, 'deadbeef-net1')), "the dead pod's record goes (not kept as lost)")
    t.notOk(fs.existsSync(deadLease), 'and its lease')
  })

  t.test(`an attachment of ours whose pod died without its DEL, and a live Go sriov-cni pod on its VF since: ${how} leaves the live pod its VF`, async (t) => {
    const node = sriovNode(t, 'tvo')
    const dead = addNetns(t, 'tvo')
    const add = await node.run('ADD', node.conf({ vlan: 100 }), { netns: dead.path, containerId: 'ours' })
    t.equal(add.code, 0, add.stdout)
    ip('-n', dead.name, 'link', 'set', 'net1', 'netns', '1', 'name', node.vfs[0].netdev!) // the kernel returns it as the pod dies
    ip('netns', 'del', dead.name)
    const live = addNetns(t, 'tvo')
    const held = goPodTakesVf(node, live) // Go sriov-cni (a downgrade) takes the VF: the mark is its own
    const r = how === 'DEL'
      ? await node.run('DEL', node.conf({ vlan: 100 }), { netns: dead.path, containerId: 'ours' })
      : await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [{ containerID: 'cafe', ifname: 'net1' }] })
    t.equal(r.code, 0, r.stdout)
    t.match(r.stderr, /serves another attachment now/)
    goPodUntouched(t, node, live, held)
    t.notOk(fs.existsSync(path.join(node.stateDir, 'ours-net1')), 'our record goes (not kept as lost)')
    t.same(fs.readdirSync(path.join(node.dataDir, 'sriov-201')).filter((f) => /^192\./.test(f)), ['192.168.201.3'], 'our lease goes')
  })
}

for (const how of ['DEL', 'GC'] as const) {
  t.test(`Go sriov-cni before v2.7 (no marks): a dead pod's record on a VF a live Go pod holds: ${how} releases the dead one's record and lease only (red team 10)`, async (t) => {
    const node = sriovNode(t, 'tvn')
    const live = addNetns(t, 'tvn')
    const { deadLease, held } = staleAndLiveGoPods(node, live, false)
    const r = how === 'DEL'
      ? await node.run('DEL', node.conf({ vlan: 300 }), { netns: '/var/run/netns/gone-tvn', containerId: 'deadbeef' })
      : await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [{ containerID: 'cafe', ifname: 'net1' }] })
    t.equal(r.code, 0, r.stdout)
    t.match(r.stderr, /serves another attachment now/)
    t.match(node.vfConfig()['0'], { vlan: 200 }, "the live pod's VLAN stays on the PF")
    t.ok(linkJson('net1', live.name), 'its netdev stays in its pod')
    t.ok(fs.existsSync(held.lease), 'its lease stays')
    t.ok(fs.existsSync(path.join(node.stateDir, 'cafe-net1')), 'its record stays')
    t.notOk(fs.existsSync(path.join(node.stateDir, 'deadbeef-net1')), "the dead pod's record goes (not kept as lost)")
    t.notOk(fs.existsSync(deadLease), 'and its lease')
  })
}

t.test("GC that lists neither of two Go sriov-cni records (no marks) on one VF keeps the record of the pod that has its netdev (red team 11)", async (t) => {
  const node = sriovNode(t, 'tvq')
  const live = addNetns(t, 'tvq')
  staleAndLiveGoPods(node, live, false)
  const r = await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [{ containerID: 'other', ifname: 'net1' }] })
  t.equal(r.code, 0, r.stdout)
  // the runtime says both are gone, yet a pod has the netdev: which record is whose no longer shows, so neither
  // one's original state is thrown away (it was: the holder's record went as "another's", the stale one stayed)
  t.ok(fs.existsSync(path.join(node.stateDir, 'cafe-net1')), "the record of the pod that has the netdev stays, for its netdev's return")
  t.same(fs.readdirSync(path.join(node.dataDir, 'sriov-201')).filter((f) => /^192\./.test(f)), [], 'both leases go')
})

t.test("ADD on a VF whose Go sriov-cni pod died without its DEL releases that pod's lease with the ADD's IPAM section (red team 9)", async (t) => {
  const node = sriovNode(t, 'tvr')
  writeGoRecord(node, 'deadbeef', 300)
  writeLease(node, '192.168.201.7', 'deadbeef')
  const mark = path.join(node.stateDir, 'pci', node.vfs[0].pci)
  fs.mkdirSync(path.dirname(mark), { recursive: true })
  fs.writeFileSync(mark, '/var/run/netns/gone-tvr')
  const pod = addNetns(t, 'tvr')
  const add = await node.run('ADD', node.conf(), { netns: pod.path, containerId: 'newpod' })
  t.equal(add.code, 0, add.stdout)
  t.match(add.stderr, /reclaiming VF/)
  t.notOk(fs.existsSync(path.join(node.stateDir, 'deadbeef-net1')), "the dead pod's record goes")
  const leases = fs.readdirSync(path.join(node.dataDir, 'sriov-201')).filter((f) => /^192\./.test(f))
  t.same(leases.map((f) => fs.readFileSync(path.join(node.dataDir, 'sriov-201', f), 'utf8')), ['newpod\r\nnet1'], "the dead pod's lease goes; the new pod holds one")
})

t.test("two Go sriov-cni records on a VF whose mark names a live pod: another pod's ADD is refused and changes nothing", async (t) => {
  const node = sriovNode(t, 'tva')
  const live = addNetns(t, 'tva')
  const { held } = staleAndLiveGoPods(node, live)
  const files = () => [...fs.readdirSync(node.stateDir), ...fs.readdirSync(path.join(node.dataDir, 'sriov-201'))].filter((f) => f !== 'lock').sort() // lock: the directory of attachment locks
  const before = files()
  const next = addNetns(t, 'tva')
  const add = await node.run('ADD', node.conf({ vlan: 400 }), { netns: next.path, containerId: 'next' })
  t.match(add.json, { code: 7, msg: `VF ${node.vfs[0].pci} is already allocated to network namespace ${live.path}` })
  goPodUntouched(t, node, live, held)
  t.same(files(), before, 'every record and lease stays')
})

for (const bootId of [null, '', 42, {}, 'not-a-boot-id', 'upper case']) {
  t.test(`a record whose boot ID is not the kernel's form (${JSON.stringify(bootId)}) is this boot's: another pod's ADD on its live VF is refused`, async (t) => {
    const node = sriovNode(t, 'tvb')
    const pod = addNetns(t, 'tvb')
    t.equal((await node.run('ADD', node.conf({ vlan: 100 }), { netns: pod.path })).code, 0)
    const file = path.join(node.stateDir, 'ctr1-net1')
    const rec = JSON.parse(fs.readFileSync(file, 'utf8'))
    fs.writeFileSync(file, JSON.stringify({ ...rec, bootId: bootId === 'upper case' ? BOOT_ID.toUpperCase() : bootId }))
    const leases = fs.readdirSync(path.join(node.dataDir, 'sriov-201')).sort()
    const other = addNetns(t, 'tvb')
    const add = await node.run('ADD', node.conf({ vlan: 200 }), { netns: other.path, containerId: 'other' })
    t.match(add.json, { code: 7, msg: /is already allocated to network namespace .* \(container ctr1, interface net1\)/ })
    t.ok(fs.existsSync(file), "the live pod's record stays")
    t.same(fs.readdirSync(path.join(node.dataDir, 'sriov-201')).sort(), leases, 'and its lease')
    t.match(node.vfConfig()['0'], { vlan: 100 })
    t.ok(linkJson('net1', pod.name))
    t.equal((await node.run('DEL', node.conf({ vlan: 100 }), { netns: pod.path })).code, 0)
    t.same(node.leftovers(), [])
  })
}

t.test("a directory in a VF mark's place: ADD says what to move away and rolls back; DEL and GC pass over it", async (t) => {
  const node = sriovNode(t, 'tvd')
  const pod = addNetns(t, 'tvd')
  const mark = path.join(node.stateDir, 'pci', node.vfs[0].pci)
  fs.mkdirSync(mark, { recursive: true })
  const before = node.snapshot()
  const add = await node.run('ADD', node.conf({ vlan: 100 }), { netns: pod.path })
  t.match(add.json, { msg: `${mark} is a directory where VF ${node.vfs[0].pci}'s allocation mark goes: it is not ours, move it away and retry, everything was rolled back` })
  t.same(node.snapshot(), before)
  for (let i = 0; i < 2; i++) {
    const del = await node.run('DEL', node.conf({ vlan: 100 }), { netns: pod.path })
    t.equal(del.code, 0, `DEL ${i + 1}: ${del.stdout}`)
  }
  const gc = await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [] })
  t.equal(gc.code, 0, gc.stdout)
  t.ok(fs.statSync(mark).isDirectory(), 'the directory is left to whoever made it')
  t.same(node.leftovers(), [])
  fs.rmdirSync(mark)
  t.equal((await node.run('ADD', node.conf({ vlan: 100 }), { netns: pod.path })).code, 0, 'once it is moved away, ADD goes through')
  t.equal((await node.run('DEL', node.conf({ vlan: 100 }), { netns: pod.path })).code, 0)
  t.same(node.leftovers(), [])
})
