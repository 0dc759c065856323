import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ATTACHMENT_FORMAT, isoTime, type AttachmentRecord } from '../../state/attachment'
import { StateStore } from '../../state/store'
import { DEFAULT_VF_STATE } from '../../host/vf-state'

function store(t: any) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'state-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  return new StateStore({ root })
}

const record = (containerId: string, ifname: string): AttachmentRecord => ({
  format: ATTACHMENT_FORMAT, containerId, ifname, netns: '/var/run/netns/p', netName: 'sriov-201', cniVersion: '1.0.0',
  deviceID: '0000:01:10.1', pfName: 'eno2', vfIndex: 0, dpdkMode: false, hostIfName: 'eno2v0',
  origNetdev: { mac: '02:00:00:00:00:aa', mtu: 1500 }, origVf: { ...DEFAULT_VF_STATE }, appliedVf: { vlan: 201 },
  netConf: { cniVersion: '1.0.0', name: 'sriov-201', type: 'sriov' }, ips: ['192.168.201.2/24'], result: { cniVersion: '1.0.0' }, createdAt: new Date().toISOString(),
})

t.test('a record\'s time reads as toISOString writes it', async (t) => {
  const times = [0, 1, 999, 951782400000, 1796170063726, 4102444799999, Date.now(), ...Array.from({ length: 200 }, () => Math.floor(Math.random() * 4102444800000))]
  for (const ms of times) if (isoTime(new Date(ms)) !== new Date(ms).toISOString()) t.fail(`${ms}: ${isoTime(new Date(ms))} != ${new Date(ms).toISOString()}`)
  t.equal(isoTime(new Date(951782400005)), '2000-02-29T00:00:00.005Z')
})

t.test('records round-trip under <containerID>-<ifname>, are listed, and removed idempotently', async (t) => {
  const s = store(t)
  await s.saveAttachment(record('abc-123', 'net1'))
  t.ok(fs.existsSync(path.join(s.root, 'abc-123-net1')))
  t.same((await s.loadAttachment('abc-123', 'net1'))?.kind, 'ours')
  t.same((await s.listAttachments()).map((a) => (a.kind === 'ours' ? a.record.containerId : '')), ['abc-123'])
  await s.removeAttachment('abc-123', 'net1')
  await s.removeAttachment('abc-123', 'net1')
  t.equal(await s.loadAttachment('abc-123', 'net1'), undefined)
})

t.test("a Go sriov-cni record is returned raw, with ids taken from the file name when listing", async (t) => {
  const s = store(t)
  fs.mkdirSync(s.root, { recursive: true })
  const goRecord = { cniVersion: '0.3.1', name: 'sriov-net', type: 'sriov', deviceID: '0000:01:10.3', Master: 'eno2', VFID: 1, OrigVfState: { HostIFName: 'eno2v1', AdminMAC: '00:00:00:00:00:00', Vlan: 0 } }
  fs.writeFileSync(path.join(s.root, 'f00d-beef-net1'), JSON.stringify(goRecord))
  const loaded = await s.loadAttachment('f00d-beef', 'net1')
  t.match(loaded, { kind: 'sriov-cni', containerId: 'f00d-beef', ifname: 'net1', raw: { Master: 'eno2' } })
  t.match(await s.listAttachments(), [{ kind: 'sriov-cni', containerId: 'f00d-beef', ifname: 'net1' }])
})

t.test('allocation marks hold the netns path; bad PCI addresses and ids touch nothing', async (t) => {
  const s = store(t)
  await s.markAndSave({ ...record('abc-123', 'net1'), netns: '/var/run/netns/pod1' })
  t.equal(fs.readFileSync(path.join(s.root, 'pci', '0000:01:10.1'), 'utf8'), '/var/run/netns/pod1')
  t.equal(await s.allocatedTo('0000:01:10.1'), '/var/run/netns/pod1')
  t.match(await s.loadAttachment('abc-123', 'net1'), { kind: 'ours', record: { netns: '/var/run/netns/pod1' } })
  await s.removeAttachment('abc-123', 'net1')
  await s.clearAllocated('0000:01:10.1')
  t.equal(await s.allocatedTo('0000:01:10.1'), undefined)
  await t.rejects(s.markAndSave({ ...record('abc-124', 'net1'), deviceID: '../../etc/x' }), { code: 7, message: /PCI address/ })
  await t.rejects(s.saveAttachment(record('a/b', 'net1')), { code: 4 })
  t.same(fs.readdirSync(s.root), ['pci'])
})

t.test('the write-ahead puts the mark in place before the record, and a failure between leaves no record', async (t) => {
  const s = store(t)
  const rec = record('abc-125', 'net1')
  const seen: string[] = []
  await t.rejects(s.markAndSave(rec, () => {
    seen.push(`mark ${fs.existsSync(path.join(s.root, 'pci', rec.deviceID))}, record ${fs.existsSync(path.join(s.root, 'abc-125-net1'))}`)
    throw new Error('injected')
  }), /injected/)
  t.same(seen, ['mark true, record false'])
  t.notOk(fs.existsSync(path.join(s.root, 'abc-125-net1')), 'no record')
  t.same(fs.readdirSync(s.root).filter((n) => n.startsWith('.tmp-')), [], 'and no temp file of it')
})

t.test('the per-VF lock excludes another process and its file is removed afterwards', async (t) => {
  const s = store(t)
  const lockFile = path.join(s.root, 'pci', 'vf_lock', '0000:01:10.1.lock')
  const events: string[] = []
  await s.withVfLock('0000:01:10.1', async () => {
    t.ok(fs.existsSync(lockFile))
    // another process tries to take the same flock without blocking and must fail while we hold it
    const probe = spawn('flock', ['-n', lockFile, 'true'])
    const code = await new Promise((r) => probe.on('close', r))
    events.push(`other process while held: ${code}`)
  })
  t.same(events, ['other process while held: 1'])
  t.notOk(fs.existsSync(lockFile), 'lock file cleaned up')
  // contention inside one process: the second waiter runs after the first, and both complete
  const order: number[] = []
  await Promise.all([1, 2, 3].map((n) => s.withVfLock('0000:01:10.1', async () => {
    order.push(n)
    await new Promise((r) => setTimeout(r, 5))
    order.push(n)
  })))
  t.equal(order.length, 6)
  for (let i = 0; i < 6; i += 2) t.equal(order[i], order[i + 1], 'critical sections do not interleave')
})

t.test('records as every earlier version wrote them parse; one that does not hold up is refused naming the field (red team 3)', async (t) => {
  const s = store(t)
  fs.mkdirSync(s.root, { recursive: true })
  const write = (name: string, rec: unknown) => fs.writeFileSync(path.join(s.root, name), JSON.stringify(rec))
  // the first format: no state, boot ID, pid, pod index, MTU, netdev index, admin state, altnames or kind
  write('old-net1', record('old', 'net1'))
  t.match(await s.loadAttachment('old', 'net1'), { kind: 'ours', record: { containerId: 'old' } })
  const dpdk: Partial<AttachmentRecord> = { ...record('dpdk', 'net1'), dpdkMode: true }
  delete dpdk.hostIfName
  delete dpdk.origNetdev
  write('dpdk-net1', dpdk)
  t.match(await s.loadAttachment('dpdk', 'net1'), { kind: 'ours', record: { dpdkMode: true } })
  const long = 'c'.repeat(300) // hashed into a shorter file name: listed under its own ids
  await s.saveAttachment(record(long, 'net1'))
  t.same((await s.listAttachments()).map((a) => (a.kind === 'ours' ? a.record.containerId : '')).sort(), ['dpdk', long, 'old'].sort())
  const bad: [string, (r: Record<string, any>) => void, RegExp][] = [
    ['pid', (r) => { r.pid = -1 }, /field "pid" is -1/],
    ['state', (r) => { r.state = 'done' }, /field "state" is "done", expected adding, added, lost/],
    ['deviceID', (r) => { r.deviceID = '../x' }, /field "deviceID"/],
    ['vfIndex', (r) => { r.vfIndex = 1.5 }, /field "vfIndex" is 1.5/],
    ['origVf.proto', (r) => { r.origVf.proto = 'qinq' }, /field "origVf.proto" is "qinq", expected 802.1q or 802.1ad/],
    ['origVf.trust', (r) => { delete r.origVf.trust }, /field "origVf.trust" is missing/],
    ['appliedVf.linkState', (r) => { r.appliedVf.linkState = 1 }, /field "appliedVf.linkState" is 1/],
    ['origNetdev.mtu', (r) => { r.origNetdev.mtu = '1500' }, /field "origNetdev.mtu"/],
    ['origNetdev.altnames', (r) => { r.origNetdev.altnames = [1] }, /field "origNetdev.altnames"/],
    ['ips', (r) => { r.ips = '10.0.0.1/24' }, /field "ips"/],
    ['result', (r) => { r.result = null }, /field "result" is null/],
    ['ifname', (r) => { r.ifname = 'net2' }, /field "ifname" is "net2", expected "net1"/],
    // red team 4: values of the right type that nothing can apply
    ['origNetdev.mac not a MAC', (r) => { r.origNetdev.mac = 'x' }, /field "origNetdev.mac" is "x", expected a MAC address/],
    ['origNetdev.mac empty', (r) => { r.origNetdev.mac = '' }, /field "origNetdev.mac" is ""/],
    ['origNetdev.mtu below 68', (r) => { r.origNetdev.mtu = 7 }, /field "origNetdev.mtu" is 7, expected an MTU/],
    ['netConf.cniVersion', (r) => { r.netConf.cniVersion = 'x' }, /field "netConf.cniVersion" is "x", expected a CNI version/],
    ['netConf.name', (r) => { r.netConf.name = '' }, /field "netConf.name" is "", expected a network name/],
    ['netConf.type', (r) => { r.netConf.type = null }, /field "netConf.type" is null, expected a plugin type/],
    ['netConf.ipam', (r) => { r.netConf.ipam = 'host-local' }, /field "netConf.ipam"/],
    // red team 5: values the kernel or IPAM refuses on every DEL
    ['origNetdev.mtu above any link', (r) => { r.origNetdev.mtu = 70000 }, /field "origNetdev.mtu" is 70000/],
    ['hostIfName of 17 bytes', (r) => { r.hostIfName = 'a'.repeat(17) }, /field "hostIfName"/],
    ['hostIfName with a slash', (r) => { r.hostIfName = 'a/b' }, /field "hostIfName" is "a\/b"/],
    ['origVf.vlan above 4095', (r) => { r.origVf.vlan = 5000 }, /field "origVf.vlan" is 5000, expected a VLAN ID/],
    ['origVf.qos above 7', (r) => { r.origVf.qos = 9 }, /field "origVf.qos" is 9/],
    ['netConf.runtimeConfig a string', (r) => { r.netConf.runtimeConfig = 'x' }, /field "netConf.runtimeConfig"/],
    ['netConf.args a string', (r) => { r.netConf.args = 'x' }, /field "netConf.args"/],
  ]
  for (const [field, damage, says] of bad) {
    const rec: Record<string, any> = JSON.parse(JSON.stringify(record('bad', 'net1')))
    damage(rec)
    write('bad-net1', rec)
    await t.rejects(s.loadAttachment('bad', 'net1'), { name: 'Error', message: says }, field)
    const unreadable: string[] = []
    t.notOk((await s.listAttachments((f) => unreadable.push(f))).some((a) => a.kind === 'ours' && a.record.containerId === 'bad'), `${field}: not listed`)
    t.same(unreadable, [path.join(s.root, 'bad-net1')], `${field}: told as unreadable`)
  }
})
