// What a record on disk may say, and what DEL and ADD believe of it (red team 4): the VF's PCI address is its
// identity (sysfs gives its PF and index), a Go sriov-cni record is checked field by field as ours are, record
// files whose names collide are never overwritten, and nothing nested deeper than any config reaches the verbs.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { addNetns, ip, linkJson } from '../helpers/netns'
import { sriovNode, type SriovNode } from '../helpers/sriov-node'

const record = (node: SriovNode, containerId = 'ctr1', ifname = 'net1') => path.join(node.stateDir, `${containerId}-${ifname}`)
const edit = (file: string, change: (r: Record<string, any>) => void) => {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'))
  change(r)
  fs.writeFileSync(file, JSON.stringify(r))
}
const leases = (node: SriovNode) => fs.readdirSync(path.join(node.dataDir, 'sriov-201')).filter((f) => /^\d/.test(f))

/** What a Go sriov-cni ADD on VF `i` leaves: VLAN 100 and its MAC on the PF, the netdev in the pod as net1, a lease, the record and the mark. */
function goPod(node: SriovNode, i: number, pod: { name: string; path: string }, containerId = 'ctr1'): string {
  const vf = node.vfs[i]
  const cfg = node.vfConfig()
  cfg[String(i)] = { vlan: 100, qos: 0, proto: '802.1q', mac: `02:bb:00:00:00:0${i}` }
  fs.mkdirSync(path.dirname(node.vfConfigFile), { recursive: true })
  fs.writeFileSync(node.vfConfigFile, JSON.stringify(cfg))
  ip('link', 'set', vf.netdev!, 'netns', pod.name)
  ip('-n', pod.name, 'link', 'set', vf.netdev!, 'name', 'net1', 'address', `02:bb:00:00:00:0${i}`, 'mtu', '1400', 'up')
  const { ipam } = node.conf() as { ipam: unknown }
  const raw = {
    OrigVfState: { HostIFName: vf.netdev, SpoofChk: true, Trust: false, AdminMAC: '00:00:00:00:00:00', EffectiveMAC: vf.mac, Vlan: 0, VlanQoS: 0, VlanProto: 33024, MinTxRate: 0, MaxTxRate: 0, LinkState: 0, MTU: 1500 },
    Master: node.pf, MAC: `02:bb:00:00:00:0${i}`, MTU: 1400, vlan: 100, vlanQoS: null, vlanProto: null, deviceID: vf.pci, VFID: i,
    cniVersion: '0.3.1', name: 'sriov-201', type: 'sriov', ipam,
  }
  fs.mkdirSync(path.join(node.stateDir, 'pci'), { recursive: true })
  fs.writeFileSync(record(node, containerId), JSON.stringify(raw))
  fs.writeFileSync(path.join(node.stateDir, 'pci', vf.pci), pod.path)
  const dir = path.join(node.dataDir, 'sriov-201')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, `192.168.201.${10 + i}`), `${containerId}\r\nnet1`)
  return record(node, containerId)
}

t.test("a Go sriov-cni pod whose netdev the application moved away: DEL keeps it as lost, and once the netdev is back the next DEL brings it home (red team 4)", async (t) => {
  const node = sriovNode(t, 'trg')
  const pod = addNetns(t, 'trg')
  const away = addNetns(t, 'trg')
  const before = node.snapshot()
  goPod(node, 0, pod)
  ip('-n', pod.name, 'link', 'set', 'net1', 'netns', away.name)
  const first = await node.run('DEL', node.conf(), { netns: pod.path })
  t.equal(first.code, 0, first.stdout)
  t.match(JSON.parse(fs.readFileSync(record(node), 'utf8')), { format: 'sriov-ts/1', state: 'lost' }, 'kept as lost, in our format')
  ip('-n', away.name, 'link', 'set', 'net1', 'netns', '1') // the kernel returns it as that namespace goes
  const second = await node.run('DEL', node.conf(), { netns: pod.path })
  t.equal(second.code, 0, second.stdout)
  t.notMatch(second.stderr, /cannot be read/, 'the lost record reads back')
  t.same(node.snapshot(), before, 'home under its own name, with its MAC and MTU; the PF as before')
  t.same(node.leftovers(), [])
})

for (const [what, change, says] of [
  ['deviceID a number', (r: any) => { r.deviceID = 7 }, /field "deviceID" is 7/],
  ['deviceID a path', (r: any) => { r.deviceID = '../x' }, /field "deviceID" is "..\/x"/],
  ['EffectiveMAC null', (r: any) => { r.OrigVfState.EffectiveMAC = null }, /field "OrigVfState.EffectiveMAC" is null/],
  ['EffectiveMAC not a MAC', (r: any) => { r.OrigVfState.EffectiveMAC = 'zz' }, /field "OrigVfState.EffectiveMAC" is "zz"/],
  ['name null', (r: any) => { r.name = null }, /field "name" is null/],
  ['cniVersion null', (r: any) => { r.cniVersion = null }, /field "cniVersion" is null/],
  ['Vlan a string', (r: any) => { r.OrigVfState.Vlan = '0' }, /field "OrigVfState.Vlan"/],
  ['Vlan above 4095', (r: any) => { r.OrigVfState.Vlan = 5000 }, /field "OrigVfState.Vlan" is 5000/],
  ['MTU above any link', (r: any) => { r.OrigVfState.MTU = 70000 }, /field "OrigVfState.MTU" is 70000/],
  ['HostIFName with a slash', (r: any) => { r.OrigVfState.HostIFName = 'a/b' }, /field "OrigVfState.HostIFName" is "a\/b"/],
  ['runtimeConfig a string', (r: any) => { r.runtimeConfig = 'x' }, /field "runtimeConfig" is "x"/],
  ['prevResult a string', (r: any) => { r.prevResult = 'x' }, /field "prevResult" is "x"/],
] as const) {
  t.test(`a Go sriov-cni record with ${what}: DEL sets it aside naming the field and succeeds, again too (red team 4)`, async (t) => {
    const node = sriovNode(t, 'trb')
    const pod = addNetns(t, 'trb')
    edit(goPod(node, 0, pod), change)
    const del = await node.run('DEL', node.conf(), { netns: pod.path })
    t.equal(del.code, 0, del.stdout)
    t.match(del.stderr.replace(/\\"/g, '"'), says)
    t.match(del.stderr, /set aside/)
    t.notOk(fs.existsSync(record(node)))
    t.same(leases(node), [], 'the lease released')
    t.equal((await node.run('DEL', node.conf(), { netns: pod.path })).code, 0, 'DEL again')
  })
}

for (const [whose, missing] of [['Go sriov-cni', 'Master missing'], ['Go sriov-cni', 'Master null'], ['Go sriov-cni', 'VFID of another VF'], ['our', 'vfIndex of another VF'], ['our', 'pfName empty']] as const) {
  t.test(`${whose} record with ${missing}: DEL restores its own VF, found by its PCI address, and leaves another pod's VF alone (red team 4)`, async (t) => {
    const node = sriovNode(t, 'tri', { vfs: 2 })
    const pod = addNetns(t, 'tri')
    const other = addNetns(t, 'tri')
    const before = node.snapshot()
    const add = await node.run('ADD', node.conf({ deviceID: node.vfs[1].pci, vlan: 200, mac: '02:aa:00:00:00:01' }), { netns: other.path, containerId: 'other' })
    t.equal(add.code, 0, add.stdout)
    const file = whose === 'our' ? record(node) : goPod(node, 0, pod)
    if (whose === 'our') t.equal((await node.run('ADD', node.conf({ vlan: 100 }), { netns: pod.path })).code, 0)
    edit(file, (r) => {
      if (missing === 'Master missing') delete r.Master
      if (missing === 'Master null') r.Master = null
      if (missing === 'VFID of another VF') r.VFID = 1
      if (missing === 'vfIndex of another VF') r.vfIndex = 1
      if (missing === 'pfName empty') r.pfName = ''
    })
    const del = await node.run('DEL', node.conf({ vlan: 100 }), { netns: pod.path })
    t.equal(del.code, 0, del.stdout)
    t.same(node.snapshot().vfConfig['0'], before.vfConfig['0'], 'its VF as before on the PF')
    t.same(node.snapshot().netdevs[node.vfs[0].netdev!], before.netdevs[node.vfs[0].netdev!], 'its netdev home')
    t.match(node.vfConfig()['1'], { vlan: 200, mac: '02:aa:00:00:00:01' }, "the other pod's VF untouched")
    const check = await node.run('CHECK', node.conf({ deviceID: node.vfs[1].pci, vlan: 200, mac: '02:aa:00:00:00:01' }), { netns: other.path, containerId: 'other' })
    t.equal(check.code, 0, `the other pod still checks: ${check.stdout}`)
    t.equal((await node.run('DEL', node.conf({ deviceID: node.vfs[1].pci }), { netns: other.path, containerId: 'other' })).code, 0)
    t.same(node.leftovers(), [])
  })
}

t.test('record file names that collide ("<containerID>-<ifname>"): the second ADD is refused and its DEL leaves the first attachment whole (red team 4)', async (t) => {
  const node = sriovNode(t, 'trn', { vfs: 2 })
  const a = addNetns(t, 'trn')
  const b = addNetns(t, 'trn')
  const before = node.snapshot()
  const confA = node.conf({ vlan: 100 })
  const confB = node.conf({ deviceID: node.vfs[1].pci, vlan: 101 })
  t.equal((await node.run('ADD', confA, { netns: a.path, containerId: 'c1-net1', ifname: 'x' })).code, 0)
  const file = record(node, 'c1-net1', 'x')
  const kept = fs.readFileSync(file, 'utf8')
  const refused = await node.run('ADD', confB, { netns: b.path, containerId: 'c1', ifname: 'net1-x' })
  t.equal(refused.json?.code, 4, refused.stdout)
  t.match(refused.json?.msg, /give the record file of container c1-net1 interface x/)
  t.equal(fs.readFileSync(file, 'utf8'), kept, "the first attachment's record untouched")
  t.same(node.snapshot().vfConfig['1'], before.vfConfig['1'], 'the refused ADD changed nothing')
  t.equal((await node.run('DEL', confB, { netns: b.path, containerId: 'c1', ifname: 'net1-x' })).code, 0, 'its DEL succeeds')
  t.equal(fs.readFileSync(file, 'utf8'), kept, 'and leaves that record too')
  t.ok(linkJson('x', a.name), 'the first pod keeps its VF')
  t.equal((await node.run('DEL', confA, { netns: a.path, containerId: 'c1-net1', ifname: 'x' })).code, 0)
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
})

t.test('an ADD repeated for an attachment that has one on another VF is refused: that VF would never be restored (red team 4)', async (t) => {
  const node = sriovNode(t, 'trv', { vfs: 2 })
  const pod = addNetns(t, 'trv')
  const before = node.snapshot()
  t.equal((await node.run('ADD', node.conf({ vlan: 100 }), { netns: pod.path })).code, 0)
  const again = await node.run('ADD', node.conf({ deviceID: node.vfs[1].pci, vlan: 100 }), { netns: pod.path })
  t.equal(again.json?.code, 7, again.stdout)
  t.match(again.json?.msg, /already has an attachment, on VF 0000:01:10.0: DEL it before an ADD on VF 0000:01:10.1/)
  t.equal((await node.run('DEL', node.conf({ vlan: 100 }), { netns: pod.path })).code, 0)
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
})

t.test('nesting deeper than any config: a record so nested is set aside by DEL, a config so nested is refused by ADD before it changes anything (red team 4)', async (t) => {
  const node = sriovNode(t, 'trd')
  const pod = addNetns(t, 'trd')
  const before = node.snapshot()
  const deep = JSON.parse('['.repeat(1000) + ']'.repeat(1000)) // far past 64, short of what JSON.stringify takes here
  const add = await node.run('ADD', node.conf({ zz: deep }), { netns: pod.path })
  t.equal(add.json?.code, 6, add.stdout)
  t.match(add.json?.msg, /"zz" nests more than 64 levels deep/)
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
  t.equal((await node.run('ADD', node.conf(), { netns: pod.path })).code, 0)
  edit(record(node), (r) => { r.netConf.zz = deep })
  const check = await node.run('CHECK', node.conf(), { netns: pod.path })
  t.match(check.json?.msg, /field "netConf" is "\(nested\)", expected at most 66 levels deep/)
  const del = await node.run('DEL', node.conf(), { netns: pod.path })
  t.equal(del.code, 0, del.stdout)
  t.match(del.stderr, /set aside/)
  t.same(leases(node), [])
  const gc = await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [] })
  t.equal(gc.code, 0, gc.stdout)
})

t.test('a lease file too large to be a lease names nobody: GC releases its address (red team 4)', async (t) => {
  const node = sriovNode(t, 'trl')
  const pod = addNetns(t, 'trl')
  t.equal((await node.run('ADD', node.conf(), { netns: pod.path })).code, 0)
  const [lease] = leases(node)
  t.equal((await node.run('DEL', node.conf(), { netns: pod.path })).code, 0)
  const file = path.join(node.dataDir, 'sriov-201', lease)
  fs.writeFileSync(file, '')
  fs.truncateSync(file, 9 * 1024 * 1024)
  const gc = await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [] })
  t.equal(gc.code, 0, gc.stdout)
  t.notOk(fs.existsSync(file), 'released')
})

t.test('a config nested as deep as the limit allows: ADD takes it and its record reads back, CHECK and DEL work; one level more is refused (red team 5)', async (t) => {
  const node = sriovNode(t, 'trx')
  const pod = addNetns(t, 'trx')
  const before = node.snapshot()
  const nest = (n: number) => JSON.parse('['.repeat(n) + ']'.repeat(n))
  const over = await node.run('ADD', node.conf({ zz: nest(64) }), { netns: pod.path })
  t.equal(over.json?.code, 6, over.stdout)
  const conf = node.conf({ zz: nest(63), vlan: 100 })
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0, add.stdout)
  const check = await node.run('CHECK', conf, { netns: pod.path })
  t.equal(check.code, 0, `its record reads back: ${check.stdout}`)
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
})

t.test('GC listing a live Go sriov-cni pod whose interface name has a "-" leaves it alone; unlisted, it is released (red team 5)', async (t) => {
  const node = sriovNode(t, 'trh')
  const pod = addNetns(t, 'trh')
  const before = node.snapshot()
  const id = 'ab'.repeat(32) // a runtime's container ID
  const file = goPod(node, 0, pod, id)
  const named = path.join(node.stateDir, `${id}-sriov-a`)
  fs.renameSync(file, named)
  ip('-n', pod.name, 'link', 'set', 'net1', 'name', 'sriov-a')
  const lease = path.join(node.dataDir, 'sriov-201', '192.168.201.10')
  fs.writeFileSync(lease, `${id}\r\nsriov-a`)
  const vf = node.vfConfig()['0']
  const gc = await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [{ containerID: id, ifname: 'sriov-a' }] })
  t.equal(gc.code, 0, gc.stdout)
  t.same(node.vfConfig()['0'], vf, "the pod's VF untouched")
  t.ok(fs.existsSync(named), 'its record kept')
  t.ok(fs.existsSync(lease), 'its lease kept')
  const release = await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [] })
  t.equal(release.code, 0, release.stdout)
  t.notOk(fs.existsSync(named), 'unlisted, its record goes')
  t.notOk(fs.existsSync(lease), 'and its lease')
  t.same(node.snapshot(), before, 'and the VF comes home')
})

for (const how of ['a PCI address no VF has']) {
  t.test(`a record whose deviceID names ${how}, and whose VF index is another live VF's: DEL leaves that VF alone (red team 5)`, async (t) => {
    const node = sriovNode(t, 'tre', { vfs: 2 })
    const pod = addNetns(t, 'tre')
    const other = addNetns(t, 'tre')
    const holder = how === 'a PCI address no VF has' ? other : pod
    // no route of its own: two interfaces of one pod cannot both route 10.201.0.0/16
    const otherConf = node.conf({ deviceID: node.vfs[1].pci, vlan: 200, ipam: { type: 'host-local', dataDir: node.dataDir, ranges: [[{ subnet: '192.168.202.0/24' }]] } })
    t.equal((await node.run('ADD', otherConf, { netns: holder.path, containerId: 'other', ifname: 'net2' })).code, 0)
    const mine = await node.run('ADD', node.conf({ vlan: 100 }), { netns: pod.path })
    t.equal(mine.code, 0, mine.stdout)
    edit(record(node), (r) => {
      r.deviceID = how === 'a PCI address no VF has' ? '0000:01:1f.7' : node.vfs[1].pci
      r.vfIndex = 1
    })
    const del = await node.run('DEL', node.conf({ vlan: 100 }), { netns: pod.path })
    t.equal(del.code, 0, del.stdout)
    t.match(node.vfConfig()['1'], { vlan: 200 }, 'the other VF keeps its VLAN')
    const check = await node.run('CHECK', otherConf, { netns: holder.path, containerId: 'other', ifname: 'net2' })
    t.equal(check.code, 0, `its attachment still checks: ${check.stdout}`)
    t.ok(fs.existsSync(path.join(node.stateDir, 'pci', node.vfs[1].pci)), 'its mark stays')
  })
}

t.test('a PF renamed between ADD and DEL (udev, a new kernel): CHECK and DEL find the VF on it by its PCI address (red team 5)', async (t) => {
  const node = sriovNode(t, 'trp')
  const pod = addNetns(t, 'trp')
  const conf = node.conf({ vlan: 100 })
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  const pfNet = path.join(node.env.SRIOV_SYSFS_ROOT, 'bus/pci/devices/0000:01:00.0/net')
  fs.renameSync(path.join(pfNet, node.pf), path.join(pfNet, `${node.pf}x`))
  const renamedConfig = path.join(path.dirname(node.vfConfigFile), `${node.pf}x.json`)
  fs.renameSync(node.vfConfigFile, renamedConfig)
  const check = await node.run('CHECK', conf, { netns: pod.path })
  t.equal(check.code, 0, check.stdout)
  t.notMatch(check.stderr, /undoing/, 'CHECK undoes nothing, and does not say it does')
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0)
  t.match(del.stderr, new RegExp(`the record names PF \\\\"${node.pf}\\\\" VF 0, but 0000:01:10.0 is VF 0 of ${node.pf}x: undoing on 0000:01:10.0`), 'DEL says where it undoes')
  t.match(JSON.parse(fs.readFileSync(renamedConfig, 'utf8'))['0'], { vlan: 0 }, 'the VLAN undone on the renamed PF')
})
