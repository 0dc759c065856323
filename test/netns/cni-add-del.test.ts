import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { addNetns, addrs, ip, linkJson } from '../helpers/netns'
import { sriovNode, type SriovNode } from '../helpers/sriov-node'

t.test('ADD configures the VF on the PF, moves it into the pod with MAC and IP; DEL restores everything', async (t) => {
  const node = sriovNode(t, 'tca')
  const pod = addNetns(t, 'tca')
  const vf = node.vfs[0]
  ip('link', 'set', vf.netdev!, 'mtu', '1400')
  const conf = node.conf({ vlan: 201, vlanQoS: 3, mac: '02:AA:BB:CC:DD:01', spoofchk: 'off', trust: 'on', min_tx_rate: 10, max_tx_rate: 100 })
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0, add.stdout + add.stderr)
  t.same(add.json.interfaces, [{ name: 'net1', mac: '02:aa:bb:cc:dd:01', mtu: 1400, sandbox: pod.path, pciID: vf.pci }])
  t.same(add.json.ips, [{ interface: 0, address: '192.168.201.2/24', gateway: '192.168.201.1' }])
  t.equal(linkJson(vf.netdev!), undefined, 'VF netdev left the host')
  const inPod = linkJson('net1', pod.name)
  t.equal(inPod.address, '02:aa:bb:cc:dd:01')
  t.ok(inPod.flags.includes('UP'))
  t.same(addrs('net1', pod.name), ['192.168.201.2/24'])
  t.match(ip('-n', pod.name, 'route', 'show', '10.201.0.0/16'), /via 192\.168\.201\.1 dev net1/)
  t.equal(ip('netns', 'exec', pod.name, 'cat', '/proc/sys/net/ipv4/conf/net1/arp_notify').trim(), '1', 'IPv4 addresses are announced (gratuitous ARP) when net1 comes up')
  t.same(node.vfConfig()['0'], { vlan: 201, qos: 3, proto: '802.1q', mac: '02:aa:bb:cc:dd:01', spoofchk: false, trust: true, min_tx_rate: 10, max_tx_rate: 100 })
  t.ok(fs.existsSync(path.join(node.stateDir, 'ctr1-net1')), 'attachment record saved')
  t.equal(fs.readFileSync(path.join(node.stateDir, 'pci', vf.pci), 'utf8'), pod.path, 'VF marked allocated')

  const check = await node.run('CHECK', conf, { netns: pod.path })
  t.equal(check.code, 0, check.stdout)

  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, del.stdout + del.stderr)
  const back = linkJson(vf.netdev!)
  t.ok(back, 'VF netdev back on the host under its original name')
  t.equal(back.address, vf.mac, 'original MAC restored')
  t.equal(back.mtu, 1400, 'original MTU kept')
  t.same(node.vfConfig()['0'], { vlan: 0, qos: 0, proto: '802.1q', mac: '00:00:00:00:00:00', spoofchk: true, trust: false, min_tx_rate: 0, max_tx_rate: 0 }, 'VF config restored on the PF')
  t.notOk(fs.existsSync(path.join(node.stateDir, 'ctr1-net1')))
  t.notOk(fs.existsSync(path.join(node.stateDir, 'pci', vf.pci)))
  t.same(fs.readdirSync(path.join(node.dataDir, 'sriov-201')).filter((f) => f.startsWith('192.')), [], 'lease released')
  const again = await node.run('DEL', conf, { netns: pod.path })
  t.equal(again.code, 0, 'second DEL succeeds')
})

t.test('a VF left alone by the config keeps its settings; VLAN 0 resets a pre-set VLAN and DEL puts it back', async (t) => {
  const node = sriovNode(t, 'tcb')
  const pod = addNetns(t, 'tcb')
  fs.mkdirSync(path.dirname(node.vfConfigFile), { recursive: true })
  fs.writeFileSync(node.vfConfigFile, JSON.stringify({ 0: { vlan: 55, trust: true } }))
  const conf = node.conf({ vlan: 0 })
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  t.match(node.vfConfig()['0'], { vlan: 0, trust: true })
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
  t.match(node.vfConfig()['0'], { vlan: 55, trust: true })
})

t.test('MAC precedence: runtimeConfig.mac over CNI_ARGS MAC over mac', async (t) => {
  const node = sriovNode(t, 'tcm')
  const pod = addNetns(t, 'tcm')
  const conf = node.conf({ mac: '02:00:00:00:00:01', runtimeConfig: { mac: '02:00:00:00:00:03' } })
  const add = await node.run('ADD', conf, { netns: pod.path, args: 'IgnoreUnknown=1;MAC=02:00:00:00:00:02' })
  t.equal(add.json.interfaces[0].mac, '02:00:00:00:00:03')
  await node.run('DEL', conf, { netns: pod.path })
  const add2 = await node.run('ADD', node.conf({ mac: '02:00:00:00:00:01' }), { netns: pod.path, args: 'IgnoreUnknown=1;MAC=02:00:00:00:00:02' })
  t.equal(add2.json.interfaces[0].mac, '02:00:00:00:00:02')
})

for (const step of ['record', 'move', 'mac', 'apply-vf', 'mac-verify', 'ipam', 'addresses', 'announce', 'complete']) {
  t.test(`a failure at ADD step "${step}" rolls every earlier step back`, async (t) => {
    const node = sriovNode(t, 'tcf')
    const pod = addNetns(t, 'tcf')
    const vf = node.vfs[0]
    const before = node.snapshot()
    const conf = node.conf({ vlan: 201, mac: '02:aa:00:00:00:01', trust: 'on' })
    const add = await node.run('ADD', conf, { netns: pod.path, env: { SRIOV_TEST_FAULTS: '1', SRIOV_FAULT: step } })
    t.not(add.code, 0)
    t.match(add.json, { msg: new RegExp(`injected fault at ADD step "${step}"`) })
    t.same(node.snapshot(), before, 'VF config on the PF, netdev name, MAC, MTU and state as before')
    t.ok(linkJson(vf.netdev!), 'VF netdev on the host under its original name')
    t.equal(linkJson('net1', pod.name), undefined, 'nothing left in the pod')
    t.same(node.leftovers(), [], 'no record, mark, lock, lease or index file')
    const retry = await node.run('ADD', conf, { netns: pod.path })
    t.equal(retry.code, 0, 'the VF is usable again')
  })
}

t.test('concurrent ADD of one VF into two pods: one wins, the other is told it is already allocated', async (t) => {
  const node = sriovNode(t, 'tcc')
  const a = addNetns(t, 'tcc')
  const b = addNetns(t, 'tcc')
  const conf = node.conf()
  const [ra, rb] = await Promise.all([node.run('ADD', conf, { netns: a.path, containerId: 'a' }), node.run('ADD', conf, { netns: b.path, containerId: 'b' })])
  const codes = [ra.code, rb.code].sort()
  t.same(codes, [0, 1])
  const loser = ra.code ? ra : rb
  t.match(loser.json, { code: 7, msg: /already allocated to network namespace/ })
  t.same(fs.readdirSync(path.join(node.dataDir, 'sriov-201')).filter((f) => f.startsWith('192.')).length, 1, 'the loser holds no lease')
})

t.test('DEL after the pod namespace is gone renames the returned netdev back and releases the IPs', async (t) => {
  const node = sriovNode(t, 'tcg')
  const pod = addNetns(t, 'tcg')
  const vf = node.vfs[0]
  const conf = node.conf({ vlan: 7 })
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  // what the kernel does with a physical VF when its namespace dies: back to the host under the pod name
  ip('-n', pod.name, 'link', 'set', 'net1', 'netns', '1')
  ip('netns', 'del', pod.name)
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, del.stdout)
  t.ok(linkJson(vf.netdev!), 'original name restored')
  t.equal(linkJson(vf.netdev!).address, vf.mac)
  t.equal(linkJson('net1'), undefined)
  t.match(node.vfConfig()['0'], { vlan: 0 })
  t.same(fs.readdirSync(path.join(node.dataDir, 'sriov-201')).filter((f) => f.startsWith('192.')), [])
})

t.test('ADD reclaims a VF whose previous pod namespace is gone', async (t) => {
  const node = sriovNode(t, 'tcr')
  const old = addNetns(t, 'tcr')
  const conf = node.conf()
  t.equal((await node.run('ADD', conf, { netns: old.path, containerId: 'old' })).code, 0)
  ip('-n', old.name, 'link', 'set', 'net1', 'netns', '1')
  ip('netns', 'del', old.name)
  const pod = addNetns(t, 'tcr')
  const add = await node.run('ADD', conf, { netns: pod.path, containerId: 'new' })
  t.equal(add.code, 0, add.stdout)
  t.ok(linkJson('net1', pod.name))
  t.notOk(fs.existsSync(path.join(node.stateDir, 'old-net1')), 'stale record removed')
})

t.test('DPDK mode: configured on the PF, nothing moved, pciID reported; DEL works the first time', async (t) => {
  const node = sriovNode(t, 'tcd', { vfs: 0, dpdkVfs: 1 })
  const pod = addNetns(t, 'tcd')
  const vf = node.vfs[0]
  const conf = node.conf({ deviceID: vf.pci, vlan: 100, ipam: undefined }, '1.1.0')
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0, add.stdout)
  t.same(add.json.interfaces, [{ name: 'net1', sandbox: pod.path, pciID: vf.pci }])
  t.match(node.vfConfig()['0'], { vlan: 100 })
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, del.stdout)
  t.match(node.vfConfig()['0'], { vlan: 0 })
  t.notOk(fs.existsSync(path.join(node.stateDir, 'ctr1-net1')))
})

t.test('name clashes: host already has the pod name, pod already has the host name or the pod name', async (t) => {
  const node = sriovNode(t, 'tcn')
  const pod = addNetns(t, 'tcn')
  const vf = node.vfs[0]
  const conf = node.conf()
  // the pod holds an interface named like the VF on the host: the kernel lands the VF under net1 at once
  ip('-n', pod.name, 'link', 'add', vf.netdev!, 'type', 'veth', 'peer', 'name', 'tcnpeer')
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0, add.stdout)
  t.ok(linkJson('net1', pod.name))
  // the host holds an interface named like the VF in the pod: the return lands it under its own name too
  ip('link', 'add', 'net1', 'type', 'veth', 'peer', 'name', 'tcnhostp')
  t.teardown(() => { try { ip('link', 'del', 'net1') } catch {} })
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, del.stdout)
  t.equal(linkJson(vf.netdev!)?.address, vf.mac, 'VF back under its own name')
  // the pod already has an interface with the requested name: ADD fails clearly and leaves the VF home
  const clash = await node.run('ADD', conf, { netns: pod.path, ifname: 'tcnpeer' })
  t.not(clash.code, 0)
  t.match(clash.json.msg, /tcnpeer already exists/)
  t.ok(linkJson(vf.netdev!), 'VF still on the host')
  t.same(node.vfConfig()['0'] ? Object.keys(node.vfConfig()['0']).length : 0, 0, 'nothing was applied on the PF')
})

t.test('the executable runs from the code cache its build recorded (ADD\'s debug log says whether V8 took it)', async (t) => {
  const node = sriovNode(t, 'tcc')
  const pod = addNetns(t, 'tcc')
  const conf = node.conf({ logLevel: 'debug' })
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0, add.stdout + add.stderr)
  const done = add.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'ADD done')
  t.equal(done?.codeCache, "used (ADD's)", 'ADD\'s own cache, used: not rejected by V8, not missing from the build')
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0)
  t.equal(del.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'DEL done')?.codeCache, "used (DEL's)", 'DEL\'s own')
  // V8 flags from the runtime's environment (libcni passes it on) make V8 refuse the cache: the call compiles
  const flagged = await node.run('ADD', conf, { netns: pod.path, env: { NODE_OPTIONS: '--max-old-space-size=64' } })
  t.equal(flagged.code, 0, flagged.stdout + flagged.stderr)
  t.equal(flagged.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'ADD done')?.codeCache, 'rejected')
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
})

t.test("host-local takes the pod's addresses while the kernel moves the netdev; a delegated IPAM plugin runs once the VF is configured", async (t) => {
  const node = sriovNode(t, 'tib')
  const pod = addNetns(t, 'tib')
  // the debug log's marks, in the order the points were reached
  const points = (stderr: string, msg: string) => Object.keys(stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === msg)?.msSinceStart ?? {})
  const local = node.conf({ logLevel: 'debug', mac: '02:00:00:00:01:01' })
  const add = await node.run('ADD', local, { netns: pod.path })
  t.equal(add.code, 0, add.stdout + add.stderr)
  const order = points(add.stderr, 'ADD done')
  t.ok(order.indexOf('move') < order.indexOf('ipam') && order.indexOf('ipam') < order.indexOf('after-move'), `IPAM started while the move went on: ${order.join(' ')}`)
  t.equal((await node.run('DEL', local, { netns: pod.path })).code, 0)
  // the dhcp plugin, for one, needs the netdev in the pod with its MAC
  const delegated = node.conf({ logLevel: 'debug', mac: '02:00:00:00:01:01', ipam: { type: 'static', addresses: [{ address: '192.168.201.9/24' }] } })
  const add2 = await node.run('ADD', delegated, { netns: pod.path })
  t.equal(add2.code, 0, add2.stdout + add2.stderr)
  const order2 = points(add2.stderr, 'ADD done')
  t.ok(order2.indexOf('after-mac-verify') < order2.indexOf('ipam'), `the delegated plugin ran after the VF and its MAC were set: ${order2.join(' ')}`)
  t.equal((await node.run('DEL', delegated, { netns: pod.path })).code, 0)
})

t.test('a config too large for the attachment record to keep is refused before anything changes; one just within is added and deleted (red team 7)', async (t) => {
  const node = sriovNode(t, 'tbg')
  const pod = addNetns(t, 'tbg')
  const before = node.snapshot()
  const padded = (bytes: number) => {
    const conf = node.conf()
    return { ...conf, pad: 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify({ ...conf, pad: '' }))) }
  }
  // a record holds at most 8 MiB, and keeps the config (without prevResult) and then the result
  const tooLarge = padded(2 * 1024 * 1024 + 1)
  const refused = await node.run('ADD', tooLarge, { netns: pod.path })
  t.equal(refused.json?.code, 7, refused.stdout)
  t.match(refused.json?.msg, /2097153 bytes \(without prevResult\).*at most 2097152 are accepted/)
  t.same(node.snapshot(), before, 'nothing changed')
  t.same(node.leftovers(), [])
  t.equal((await node.run('DEL', tooLarge, { netns: pod.path })).code, 0)
  // at the limit, with a large prevResult, which is not kept and does not count
  const chained = { ...padded(2 * 1024 * 1024), prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'x'.repeat(3 * 1024 * 1024) }] } }
  const add = await node.run('ADD', chained, { netns: pod.path })
  t.equal(add.code, 0, add.stdout.slice(0, 300) + add.stderr.slice(0, 300))
  t.ok(linkJson('net1', pod.name), 'the VF is in the pod')
  const del = await node.run('DEL', chained, { netns: pod.path })
  t.equal(del.code, 0, del.stderr.slice(0, 300))
  t.same(node.snapshot(), before, 'DEL read the record back and undid it all')
  t.same(node.leftovers(), [])
})

t.test('CNI_IFNAME the kernel would not keep as given: a "%d" pattern, more than 15 bytes in fewer characters, "all" and "default" (red team)', async (t) => {
  const node = sriovNode(t, 'tci')
  const pod = addNetns(t, 'tci')
  const vf = node.vfs[0]
  // an up VF: a refusal half-way would have taken it down and moved it
  ip('link', 'set', vf.netdev!, 'up')
  // "à" (C3 A0), "Р" (D0 A0) and "†" (E2 80 A0) hold a byte the kernel's isspace() takes as a space (red team 8)
  const cases = [['net%d', /"%" is not allowed/], ['ééééééééé', /longer than 15 bytes/], ['all', /"all" and "default"/], ['default', /"all" and "default"/], ['netà', /byte 0xA0/], ['Рnet', /byte 0xA0/], ['n†', /byte 0xA0/]] as const
  for (const [ifname, why] of cases) {
    const add = await node.run('ADD', node.conf(), { netns: pod.path, ifname })
    t.equal(add.json.code, 4, `${ifname}: ${add.stdout}`)
    t.match(add.json.msg, why)
    t.ok((linkJson(vf.netdev!)?.flags as string[]).includes('UP'), 'the VF stays on the host, up')
    t.same(node.leftovers(), [], 'nothing written')
  }
  const del = await node.run('DEL', node.conf(), { netns: pod.path, ifname: 'netà' })
  t.equal(del.code, 0, `DEL of a name ADD refused succeeds: ${del.stdout}`)
  t.same(node.leftovers(), [], 'and leaves nothing')
})

t.test('routes written in any IPv6 text: ADD reports them as Go does and CHECK finds them (red team)', async (t) => {
  const node = sriovNode(t, 'tcr')
  const pod = addNetns(t, 'tcr')
  const conf = node.conf({ ipam: { type: 'host-local', dataDir: node.dataDir, ranges: [[{ subnet: '10.77.0.0/24' }], [{ subnet: 'FD00:0077::/64' }]], routes: [{ dst: 'FD00:88:0::/64', gw: 'FD00:77::99' }, { dst: '::0/0' }] } })
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0, add.stdout + add.stderr)
  t.same(add.json.routes, [{ dst: 'fd00:88::/64', gw: 'fd00:77::99' }, { dst: '::/0' }])
  const check = await node.run('CHECK', { ...conf, prevResult: add.json }, { netns: pod.path })
  t.equal(check.code, 0, check.stdout)
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
})

/** What DEL does with a record it cannot use: sets it aside beside the others, releases the lease and the mark, succeeds. */
function setAsideByDel(t: Test, node: SriovNode, file: string, del: { code: number | null; stdout: string; stderr: string }): void {
  t.equal(del.code, 0, del.stdout + del.stderr)
  t.match(del.stderr, /the attachment record cannot be read.*set aside/)
  t.notOk(fs.existsSync(file))
  t.equal(fs.readdirSync(node.stateDir).filter((f) => f.startsWith('.unreadable-ctr1-net1.')).length, 1, 'kept beside, out of every listing')
  t.same(fs.readdirSync(path.join(node.dataDir, 'sriov-201')).filter((f) => f.startsWith('192.')), [], 'lease released')
  t.notOk(fs.existsSync(path.join(node.stateDir, 'pci', node.vfs[0].pci)), 'the mark cleared')
}

t.test('a record that cannot be read (a damaged disk): CHECK says so; DEL sets it aside, releases the IPs and succeeds, again too', async (t) => {
  const node = sriovNode(t, 'tur')
  const pod = addNetns(t, 'tur')
  const conf = node.conf()
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  const file = path.join(node.stateDir, 'ctr1-net1')
  fs.writeFileSync(file, '{"format":"sriov-ts/1","sta')
  const check = await node.run('CHECK', conf, { netns: pod.path })
  t.not(check.code, 0)
  t.match(check.json?.msg, /attachment record .*ctr1-net1 cannot be read/)
  setAsideByDel(t, node, file, await node.run('DEL', conf, { netns: pod.path }))
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0, 'DEL again')
})

// a record that parses but does not hold up (a hand edit, a damaged disk, a planted file): refused naming the field,
// set aside like an unreadable one, instead of a DEL that fails forever on a TypeError or undoes half and removes it
const DAMAGE: [string, (r: Record<string, any>) => unknown, RegExp][] = [
  ['dpdkMode a string', (r) => { r.dpdkMode = 'yes' }, /field "dpdkMode" is "yes"/],
  ['hostIfName missing', (r) => { delete r.hostIfName }, /field "hostIfName" is missing/],
  ['hostIfName a number', (r) => { r.hostIfName = 7 }, /field "hostIfName" is 7/],
  ['netConf a string', (r) => { r.netConf = 'x' }, /field "netConf"/],
  ['netConf missing', (r) => { delete r.netConf }, /field "netConf" is missing/],
  ['origVf null', (r) => { r.origVf = null }, /field "origVf" is null/],
  ['origVf.vlan a string', (r) => { r.origVf.vlan = '100' }, /field "origVf.vlan"/],
  ['appliedVf null', (r) => { r.appliedVf = null }, /field "appliedVf"/],
  ['origNetdev null', (r) => { r.origNetdev = null }, /field "origNetdev"/],
  ['netns null', (r) => { r.netns = null }, /field "netns" is null/],
  ['containerId a number', (r) => { r.containerId = 5 }, /field "containerId" is 5/],
  ['containerId of another attachment', (r) => { r.containerId = 'other' }, /field "containerId" is "other", expected "ctr1"/],
  ['no format', (r) => { delete r.format }, /neither a sriov-ts\/1 record nor one of Go sriov-cni/],
  ['not an object', () => 42, /not a JSON object/],
]
for (const [what, damage, says] of DAMAGE) {
  t.test(`a record that parses but does not hold up (${what}): DEL sets it aside naming the field, releases the IPs and the mark, and succeeds, again too; GC passes over it with a warning (red team 3)`, async (t) => {
    const node = sriovNode(t, 'tud')
    const pod = addNetns(t, 'tud')
    const conf = node.conf()
    t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
    const file = path.join(node.stateDir, 'ctr1-net1')
    const rec = JSON.parse(fs.readFileSync(file, 'utf8'))
    const replaced = damage(rec)
    fs.writeFileSync(file, JSON.stringify(replaced === undefined ? rec : replaced))
    const gc = await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [] })
    t.equal(gc.code, 0, gc.stdout)
    t.match(gc.stderr, /GC passed over an attachment record it cannot read/)
    t.ok(fs.existsSync(file), 'GC leaves it: which network it was is unknown')
    const del = await node.run('DEL', conf, { netns: pod.path })
    setAsideByDel(t, node, file, del)
    t.match(del.stderr.replace(/\\"/g, '"'), says, 'the log names what does not hold up')
    t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0, 'DEL again')
  })
}

t.test('a record of gigabytes (a damaged disk, a planted file) is not read: DEL sets it aside at once and succeeds; GC passes over it (red team 3)', async (t) => {
  const node = sriovNode(t, 'tub')
  const pod = addNetns(t, 'tub')
  const conf = node.conf()
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  const file = path.join(node.stateDir, 'ctr1-net1')
  fs.truncateSync(file, 2 * 1024 ** 3) // sparse: nothing is written
  const gc = await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/valid-attachments': [{ containerID: 'ctr1', ifname: 'net1' }] })
  t.equal(gc.code, 0, gc.stdout)
  t.match(gc.stderr, /more than any state file holds/)
  const del = await node.run('DEL', conf, { netns: pod.path })
  setAsideByDel(t, node, file, del)
  t.match(del.stderr, /2147483648 bytes, more than any state file holds/)
})
