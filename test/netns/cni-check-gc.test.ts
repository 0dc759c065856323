import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { addNetns, ip, linkJson } from '../helpers/netns'
import { sriovNode, type SriovNode } from '../helpers/sriov-node'
import { execPlugin, referencePlugin } from '../helpers/plugin-exec'

t.test('CHECK fails on a wrong MAC, a missing address, a changed VF config, a missing lease or interface', async (t) => {
  const node = sriovNode(t, 'tck')
  const pod = addNetns(t, 'tck')
  const conf = node.conf({ vlan: 201, mac: '02:00:00:00:0c:01' })
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  const check = () => node.run('CHECK', conf, { netns: pod.path })
  t.equal((await check()).code, 0, 'clean attachment passes')

  ip('-n', pod.name, 'link', 'set', 'net1', 'address', '02:00:00:00:0c:99')
  t.match((await check()).json, { msg: /MAC 02:00:00:00:0c:99, expected 02:00:00:00:0c:01/ })
  ip('-n', pod.name, 'link', 'set', 'net1', 'address', '02:00:00:00:0c:01')

  ip('-n', pod.name, 'addr', 'del', '192.168.201.2/24', 'dev', 'net1')
  t.match((await check()).json, { msg: /address 192\.168\.201\.2\/24 is missing/ })
  ip('-n', pod.name, 'addr', 'add', '192.168.201.2/24', 'dev', 'net1')
  ip('-n', pod.name, 'route', 'add', '10.201.0.0/16', 'via', '192.168.201.1')
  t.equal((await check()).code, 0, 'repaired')

  const cfg = node.vfConfig()
  cfg['0'].vlan = 5
  fs.writeFileSync(node.vfConfigFile, JSON.stringify(cfg))
  t.match((await check()).json, { msg: /has vlan 5, expected 201/ })
  cfg['0'].vlan = 201
  fs.writeFileSync(node.vfConfigFile, JSON.stringify(cfg))

  const leaseDir = path.join(node.dataDir, 'sriov-201')
  fs.renameSync(path.join(leaseDir, '192.168.201.2'), path.join(leaseDir, 'moved'))
  t.match((await check()).json, { msg: /failed to find address/ }, 'IPAM CHECK is forwarded')
  fs.renameSync(path.join(leaseDir, 'moved'), path.join(leaseDir, '192.168.201.2'))

  ip('-n', pod.name, 'link', 'set', 'net1', 'name', 'other')
  t.match((await check()).json, { msg: /interface net1 is missing from the pod/ })
  t.match((await node.run('CHECK', node.conf({}, '0.3.1'), { netns: pod.path })).json, { code: 1 }, 'CHECK needs 0.4.0+')
})

t.test('CHECK without a requested MAC compares the MAC ADD reported', async (t) => {
  const node = sriovNode(t, 'tcm')
  const pod = addNetns(t, 'tcm')
  const conf = node.conf({ vlan: 201 })
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0)
  const reported = add.json.interfaces[0].mac
  const check = () => node.run('CHECK', conf, { netns: pod.path })
  t.equal((await check()).code, 0)
  ip('-n', pod.name, 'link', 'set', 'net1', 'address', '02:00:00:00:0c:77')
  t.match((await check()).json, { msg: new RegExp(`MAC 02:00:00:00:0c:77, expected ${reported}`) })
  ip('-n', pod.name, 'link', 'set', 'net1', 'address', reported)
  t.equal((await check()).code, 0, 'repaired')
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
})

t.test('GC releases attachments the runtime no longer lists and keeps the valid ones', async (t) => {
  const node = sriovNode(t, 'tcgc', { vfs: 2 })
  const keep = addNetns(t, 'tcgc')
  const drop = addNetns(t, 'tcgc')
  const conf = (i: number) => node.conf({ deviceID: node.vfs[i].pci, vlan: 10 + i }, '1.1.0')
  t.equal((await node.run('ADD', conf(0), { netns: keep.path, containerId: 'keep' })).code, 0)
  t.equal((await node.run('ADD', conf(1), { netns: drop.path, containerId: 'drop' })).code, 0)
  const gcConf = { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'net1' }] }
  const gc = await node.run('GC', gcConf)
  t.equal(gc.code, 0, gc.stdout)
  t.ok(linkJson('net1', keep.name), 'valid attachment untouched')
  t.equal(linkJson('net1', drop.name), undefined, 'stale VF left the pod')
  t.ok(linkJson(node.vfs[1].netdev!), 'stale VF back on the host under its name')
  t.match(node.vfConfig(), { 0: { vlan: 10 }, 1: { vlan: 0 } })
  t.same(fs.readdirSync(path.join(node.dataDir, 'sriov-201')).filter((f) => f.startsWith('192.')), ['192.168.201.2'])
  t.same(fs.readdirSync(node.stateDir, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name), ['keep-net1'])
})

t.test('DEL restores a VF from a record written by Go sriov-cni (in-place upgrade)', async (t) => {
  const node = sriovNode(t, 'tcl')
  const pod = addNetns(t, 'tcl')
  const vf = node.vfs[0]
  // what sriov-cni leaves behind: the VF in the pod as net1, VLAN 300 and a MAC on the PF, and its record
  ip('link', 'set', vf.netdev!, 'netns', pod.name)
  ip('-n', pod.name, 'link', 'set', vf.netdev!, 'name', 'net1')
  ip('-n', pod.name, 'link', 'set', 'net1', 'address', '02:00:00:00:aa:01')
  fs.mkdirSync(path.dirname(node.vfConfigFile), { recursive: true })
  fs.writeFileSync(node.vfConfigFile, JSON.stringify({ 0: { vlan: 300, mac: '02:00:00:00:aa:01', spoofchk: true } }))
  fs.mkdirSync(path.join(node.stateDir, 'pci'), { recursive: true })
  const goRecord = {
    cniVersion: '0.3.1', name: 'sriov-net', type: 'sriov', deviceID: vf.pci, vlan: 300, Master: node.pf, VFID: 0, MAC: '02:00:00:00:aa:01',
    OrigVfState: { HostIFName: vf.netdev, SpoofChk: true, Trust: false, AdminMAC: '00:00:00:00:00:00', EffectiveMAC: vf.mac, Vlan: 0, VlanQoS: 0, VlanProto: 33024, MinTxRate: 0, MaxTxRate: 0, LinkState: 0, MTU: 1500 },
  }
  fs.writeFileSync(path.join(node.stateDir, 'f00dcafe-net1'), JSON.stringify(goRecord))
  fs.writeFileSync(path.join(node.stateDir, 'pci', vf.pci), pod.path)
  const del = await node.run('DEL', { cniVersion: '0.3.1', name: 'sriov-net', type: 'sriov', deviceID: vf.pci, vlan: 300 }, { netns: pod.path, containerId: 'f00dcafe' })
  t.equal(del.code, 0, del.stdout)
  t.equal(linkJson(vf.netdev!)?.address, vf.mac, 'netdev back on the host with its name and MAC')
  t.match(node.vfConfig()['0'], { vlan: 0, mac: '00:00:00:00:00:00' })
  t.notOk(fs.existsSync(path.join(node.stateDir, 'f00dcafe-net1')))
  t.notOk(fs.existsSync(path.join(node.stateDir, 'pci', vf.pci)))
})

/**
 * What Go sriov-cni leaves behind for a pod with host-local: the reference's lease, VF 0's netdev in the pod as
 * net1 (no MAC asked for), its mark and its record, whose "ipam" holds only the type (Go's types.IPAM).
 */
async function goAttachment(t: Test, node: SriovNode, pod: { name: string; path: string }, containerId: string): Promise<void> {
  const vf = node.vfs[0]
  const lease = await execPlugin(referencePlugin('host-local'), node.conf(), { command: 'ADD', containerId, netns: pod.path, ifname: 'net1' })
  t.equal(lease.code, 0, lease.stdout)
  ip('link', 'set', vf.netdev!, 'netns', pod.name)
  ip('-n', pod.name, 'link', 'set', vf.netdev!, 'name', 'net1')
  fs.mkdirSync(path.join(node.stateDir, 'pci'), { recursive: true })
  const goRecord = {
    cniVersion: '1.0.0', name: 'sriov-201', type: 'sriov', deviceID: vf.pci, ipam: { type: 'host-local' }, Master: node.pf, VFID: 0, MAC: '', MTU: 0,
    OrigVfState: { HostIFName: vf.netdev, SpoofChk: true, Trust: false, AdminMAC: '00:00:00:00:00:00', EffectiveMAC: vf.mac, Vlan: 0, VlanQoS: 0, VlanProto: 33024, MinTxRate: 0, MaxTxRate: 0, LinkState: 0, MTU: 1500 },
  }
  fs.writeFileSync(path.join(node.stateDir, `${containerId}-net1`), JSON.stringify(goRecord))
  fs.writeFileSync(path.join(node.stateDir, 'pci', vf.pci), pod.path)
}

t.test('DEL of a Go sriov-cni record whose pod changed the netdev\'s MAC: the netdev comes home and the lease goes, with stdin\'s IPAM section (red team 9)', async (t) => {
  const node = sriovNode(t, 'tcm')
  const pod = addNetns(t, 'tcm')
  const vf = node.vfs[0]
  const conf = node.conf()
  const leaseDir = path.join(node.dataDir, 'sriov-201')
  await goAttachment(t, node, pod, 'f00dbabe')
  t.same(fs.readdirSync(leaseDir).filter((f) => f.startsWith('192.')), ['192.168.201.2'])
  // the pod's application gives it a MAC of its own
  ip('-n', pod.name, 'link', 'set', 'net1', 'address', '02:00:00:00:bb:01')
  const del = await node.run('DEL', conf, { netns: pod.path, containerId: 'f00dbabe' })
  t.equal(del.code, 0, del.stdout)
  t.equal(linkJson(vf.netdev!)?.address, vf.mac, 'the netdev is back on the host with its name and MAC')
  t.same(JSON.parse(ip('-n', pod.name, '-j', 'link', 'show')).map((l: { ifname: string }) => l.ifname), ['lo'], 'nothing of it left in the pod')
  t.same(fs.readdirSync(leaseDir).filter((f) => f.startsWith('192.')), [], 'the lease is released from the dataDir stdin names')
  t.notOk(fs.existsSync(path.join(node.stateDir, 'f00dbabe-net1')))
  t.notOk(fs.existsSync(path.join(node.stateDir, 'pci', vf.pci)))
})

t.test('CHECK of a Go sriov-cni attachment checks its interface, the prevResult\'s addresses and the lease (red team 9)', async (t) => {
  const node = sriovNode(t, 'tcn')
  const pod = addNetns(t, 'tcn')
  const vf = node.vfs[0]
  const conf = node.conf()
  await goAttachment(t, node, pod, 'f00dbeef')
  ip('-n', pod.name, 'addr', 'add', '192.168.201.2/24', 'dev', 'net1')
  ip('-n', pod.name, 'link', 'set', 'net1', 'up')
  const prevResult = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', sandbox: pod.path }, { name: 'net1', mac: vf.mac, sandbox: pod.path }],
    ips: [{ address: '10.9.0.5/16', interface: 0 }, { address: '192.168.201.2/24', gateway: '192.168.201.1', interface: 1 }],
  }
  const check = () => node.run('CHECK', { ...conf, prevResult }, { netns: pod.path, containerId: 'f00dbeef' })
  let r = await check()
  t.equal(r.code, 0, `a healthy Go attachment passes: ${r.stdout}`)
  ip('-n', pod.name, 'addr', 'del', '192.168.201.2/24', 'dev', 'net1')
  r = await check()
  t.match(r.json, { code: 999, msg: /address 192\.168\.201\.2\/24 is missing from net1/ })
  ip('-n', pod.name, 'addr', 'add', '192.168.201.2/24', 'dev', 'net1')
  const release = await execPlugin(referencePlugin('host-local'), conf, { command: 'DEL', containerId: 'f00dbeef', netns: pod.path, ifname: 'net1' })
  t.equal(release.code, 0, release.stdout)
  r = await check()
  t.not(r.code, 0, 'a released lease fails CHECK')
  t.match(r.stdout, /failed to find address/)
  t.ok(fs.existsSync(path.join(node.stateDir, 'f00dbeef-net1')), 'CHECK changes nothing')
})

t.test('a DEL whose IPAM release is slow holds the VF lock: a racing ADD waits and then succeeds', async (t) => {
  const node = sriovNode(t, 'tcs')
  const a = addNetns(t, 'tcs')
  const b = addNetns(t, 'tcs')
  const conf = node.conf()
  t.equal((await node.run('ADD', conf, { netns: a.path, containerId: 'a' })).code, 0)
  // hold the IPAM store lock from outside so that DEL's release has to wait for it
  const lockFile = path.join(node.dataDir, 'sriov-201', 'lock')
  const { spawn } = await import('node:child_process')
  const holder = spawn('flock', [lockFile, 'sleep', '3'])
  await new Promise((r) => setTimeout(r, 200))
  const del = node.run('DEL', conf, { netns: a.path, containerId: 'a' })
  // give DEL time to take the VF lock and block on IPAM (the holder keeps IPAM locked for 3 s)
  await new Promise((r) => setTimeout(r, 1000))
  const add = node.run('ADD', conf, { netns: b.path, containerId: 'b' })
  const [rd, ra] = await Promise.all([del, add])
  holder.kill()
  t.equal(rd.code, 0, rd.stdout)
  t.equal(ra.code, 0, ra.stdout)
  t.ok(linkJson('net1', b.name), 'the VF ended up in the second pod')
  t.equal(linkJson('net1', a.name), undefined)
})
