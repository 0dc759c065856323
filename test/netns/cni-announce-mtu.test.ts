// What sriov-cni does after v2.10, and more: every address announced on the VF's new link (one gratuitous ARP
// per IPv4 address, one unsolicited NA per IPv6 address), the NAD's mtu, and DEL restoring the VF's MACs
// whoever changed them.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseIP, formatIP } from '../../protocol/ip'
import { capture } from '../helpers/capture'
import { addNetns, ip, linkJson } from '../helpers/netns'
import { sriovNode } from '../helpers/sriov-node'

const canon = (a: string) => formatIP(parseIP(a)!)

t.test('ADD announces each address of the pod on the VF: a gratuitous ARP per IPv4, an unsolicited NA per IPv6', async (t) => {
  const node = sriovNode(t, 'tan')
  const pod = addNetns(t, 'tan')
  const wire = `${node.vfs[0].netdev}p`
  ip('link', 'set', wire, 'up')
  const ranges = [[{ subnet: '192.168.201.0/24' }], [{ subnet: '192.168.202.0/24' }], [{ subnet: 'fd00:201::/64' }], [{ subnet: 'fd00:202::/64' }]]
  const conf = node.conf({ mac: '02:00:00:a0:00:01', ipam: { type: 'host-local', dataDir: node.dataDir, ranges } })
  const cap = await capture(t, node.dir, wire)
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0, add.stdout + add.stderr)
  const addresses = add.json.ips.map((i: { address: string }) => canon(i.address.split('/')[0]))
  t.equal(addresses.length, 4)
  const announced = (a: { kind: string; address: string; mac: string }[], addr: string) => a.some((x) => canon(x.address) === addr && x.mac === '02:00:00:a0:00:01' && x.kind === (addr.includes(':') ? 'na' : 'garp'))
  await cap.until((a) => addresses.every((addr: string) => announced(a, addr)))
  const seen = await cap.stop()
  for (const addr of addresses) t.ok(announced(seen, addr), `${addr} announced with the pod's MAC`)
  for (const [sysctl, path] of [['arp_notify', 'ipv4/conf/net1/arp_notify'], ['ndisc_notify', 'ipv6/conf/net1/ndisc_notify'], ['optimistic_dad', 'ipv6/conf/net1/optimistic_dad']]) {
    t.equal(ip('netns', 'exec', pod.name, 'cat', `/proc/sys/net/${path}`).trim(), '1', `${sysctl} on net1 (later ups and MAC changes are announced by the kernel)`)
  }
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
})

t.test('mtu: set on the VF in the pod, refused above the PF\'s MTU (naming both), restored by DEL', async (t) => {
  const node = sriovNode(t, 'tam')
  const pod = addNetns(t, 'tam')
  const vf = node.vfs[0]
  // the PF's netdev: a stand-in with the PF's name, on the host as a real PF is
  ip('link', 'add', node.pf, 'type', 'veth', 'peer', 'name', `${node.pf}x`)
  t.teardown(() => { try { ip('link', 'del', node.pf) } catch {} })
  const before = node.snapshot()
  const big = await node.run('ADD', node.conf({ mtu: 9000 }), { netns: pod.path })
  t.match(big.json, { code: 7, msg: new RegExp(`invalid mtu: 9000 is above the MTU 1500 of the VF's PF ${node.pf}`) })
  t.same(node.snapshot(), before, 'nothing changed')
  t.same(node.leftovers(), [])
  ip('link', 'set', node.pf, 'mtu', '9000')
  const conf = node.conf({ mtu: 9000 })
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0, add.stdout)
  t.equal(add.json.interfaces[0].mtu, 9000, 'the result reports it')
  t.equal(linkJson('net1', pod.name).mtu, 9000, 'the VF netdev in the pod has it')
  t.equal((await node.run('CHECK', conf, { netns: pod.path })).code, 0)
  ip('-n', pod.name, 'link', 'set', 'net1', 'mtu', '1400')
  t.match((await node.run('CHECK', conf, { netns: pod.path })).json, { msg: /MTU 1400, expected 9000/ }, 'CHECK checks it')
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
  t.equal(linkJson(vf.netdev!).mtu, before.netdevs[vf.netdev!]!.mtu, 'DEL puts the original MTU back')
  t.match((await node.run('ADD', node.conf({ mtu: 30 }), { netns: pod.path })).json, { code: 7, msg: /invalid mtu/ })
})

t.test('mtu below 1280 with an IPv6 address from a delegated IPAM plugin (static): code 7 naming mtu and the address, all rolled back', async (t) => {
  const node = sriovNode(t, 'tm6')
  const pod = addNetns(t, 'tm6')
  ip('link', 'add', node.pf, 'type', 'veth', 'peer', 'name', `${node.pf}x`) // the PF's netdev, whose MTU bounds the VF's
  t.teardown(() => { try { ip('link', 'del', node.pf) } catch {} })
  const before = node.snapshot()
  const conf = node.conf({ mtu: 1000, ipam: { type: 'static', addresses: [{ address: 'fd00:203::5/64' }] } })
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.match(add.json, { code: 7, msg: /invalid mtu: 1000 is below 1280, the minimum for IPv6, and IPAM gave the IPv6 address fd00:203::5\/64/ })
  t.same(node.snapshot(), before, 'rolled back')
  t.same(node.leftovers(), [])
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
})

t.test('DEL restores the VF\'s MACs even when ADD set none: the pod changed its netdev MAC, someone the admin MAC', async (t) => {
  const node = sriovNode(t, 'tac')
  const pod = addNetns(t, 'tac')
  const vf = node.vfs[0]
  const before = node.snapshot()
  const conf = node.conf({ vlan: 7 })
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  ip('-n', pod.name, 'link', 'set', 'net1', 'address', '02:00:00:ee:ee:01')
  const cfg = node.vfConfig()
  cfg['0'].mac = '02:00:00:ee:ee:02'
  fs.writeFileSync(node.vfConfigFile, JSON.stringify(cfg))
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
  t.equal(linkJson(vf.netdev!).address, vf.mac, 'the netdev has its own MAC back')
  t.same(node.snapshot(), before, 'and the PF lists the VF as before')
})

t.test("an admin MAC pinned equal to the netdev's own MAC (ip link set <pf> vf N mac X): on a PF that lists only admin MACs, DEL pins it again (red team 3)", async (t) => {
  const node = sriovNode(t, 'tap')
  const pod = addNetns(t, 'tap')
  const vf = node.vfs[0]
  fs.mkdirSync(path.dirname(node.vfConfigFile), { recursive: true })
  fs.writeFileSync(node.vfConfigFile, JSON.stringify({ 0: { mac: vf.mac } })) // the stand-in lists what was set, as such drivers do
  const before = node.snapshot()
  const conf = node.conf({ mac: '02:00:00:ee:ee:03' })
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  t.equal(node.vfConfig()['0'].mac, '02:00:00:ee:ee:03')
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
  t.equal(node.vfConfig()['0'].mac, vf.mac, 'the admin MAC is pinned again')
  t.same(node.snapshot(), before, 'and everything else is as before')
})
