// sriov driven by libcni (what container runtimes use), chained with the reference tuning plugin, with our
// in-process host-local and with the reference static IPAM, in every cniVersion libcni 1.1 speaks.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { cnitool } from '../helpers/cnitool'
import { addNetns, addrs, ip, linkJson } from '../helpers/netns'
import { SRIOV_BIN, sriovNode } from '../helpers/sriov-node'

const pluginDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnibin-'))
fs.symlinkSync(SRIOV_BIN, path.join(pluginDir, 'sriov'))
t.teardown(() => fs.rmSync(pluginDir, { recursive: true, force: true }))

for (const cniVersion of ['0.3.1', '0.4.0', '1.0.0']) {
  t.test(`cniVersion ${cniVersion}: sriov + tuning with host-local, ADD, CHECK, DEL`, async (t) => {
    const node = sriovNode(t, 'tlc')
    const pod = addNetns(t, 'tlc')
    const vf = node.vfs[0]
    const tool = cnitool(t, pluginDir, node.env)
    tool.writeConflist('sriov-201', {
      cniVersion,
      plugins: [
        { type: 'sriov', deviceID: vf.pci, vlan: 201, capabilities: { mac: true, ips: true },
          ipam: { type: 'host-local', dataDir: node.dataDir, ranges: [[{ subnet: '192.168.201.0/24' }]] } },
        { type: 'tuning', sysctl: { 'net.ipv4.conf.net1.arp_filter': '1' } },
      ],
    })
    const caps = { CAP_ARGS: JSON.stringify({ mac: '02:00:00:00:02:01', ips: ['192.168.201.2/24'] }) }
    const add = tool.run('add', 'sriov-201', pod.path, caps)
    t.equal(add.code, 0, add.stderr)
    t.equal(add.json.cniVersion, cniVersion)
    t.match(add.json.interfaces, [{ name: 'net1', mac: '02:00:00:00:02:01', sandbox: pod.path }])
    t.match(add.json.ips, [{ address: '192.168.201.2/24' }])
    t.same(addrs('net1', pod.name), ['192.168.201.2/24'])
    t.equal(ip('netns', 'exec', pod.name, 'cat', '/proc/sys/net/ipv4/conf/net1/arp_filter').trim(), '1', 'tuning ran on our interface')
    t.match(node.vfConfig()['0'], { vlan: 201, mac: '02:00:00:00:02:01' })
    if (cniVersion !== '0.3.1') {
      const check = tool.run('check', 'sriov-201', pod.path, caps)
      t.equal(check.code, 0, check.stderr)
    }
    const del = tool.run('del', 'sriov-201', pod.path, caps)
    t.equal(del.code, 0, del.stderr)
    t.equal(linkJson(vf.netdev!)?.address, vf.mac, 'VF back on the host with its MAC')
    t.match(node.vfConfig()['0'], { vlan: 0, mac: '00:00:00:00:00:00' })
    t.equal(tool.run('del', 'sriov-201', pod.path, caps).code, 0, 'DEL again')
  })
}

t.test('sriov with the reference static IPAM plugin, executed from CNI_PATH', async (t) => {
  const node = sriovNode(t, 'tls')
  const pod = addNetns(t, 'tls')
  const tool = cnitool(t, pluginDir, node.env)
  tool.writeConflist('sriov-static', {
    cniVersion: '1.0.0',
    plugins: [{ type: 'sriov', deviceID: node.vfs[0].pci, ipam: { type: 'static', addresses: [{ address: '10.10.0.5/24', gateway: '10.10.0.1' }], routes: [{ dst: '10.11.0.0/16' }] } }],
  })
  const add = tool.run('add', 'sriov-static', pod.path)
  t.equal(add.code, 0, add.stderr)
  t.same(addrs('net1', pod.name), ['10.10.0.5/24'])
  t.match(ip('-n', pod.name, 'route', 'show', '10.11.0.0/16'), /via 10\.10\.0\.1/)
  const check = tool.run('check', 'sriov-static', pod.path)
  t.equal(check.code, 0, check.stderr)
  t.equal(tool.run('del', 'sriov-static', pod.path).code, 0)
  t.ok(linkJson(node.vfs[0].netdev!))
})

t.test('a bad config is reported through libcni with its field and leaves nothing behind', async (t) => {
  const node = sriovNode(t, 'tlb')
  const pod = addNetns(t, 'tlb')
  const tool = cnitool(t, pluginDir, node.env)
  tool.writeConflist('bad', { cniVersion: '1.0.0', plugins: [{ type: 'sriov', deviceID: node.vfs[0].pci, vlan: 5000 }] })
  const add = tool.run('add', 'bad', pod.path)
  t.not(add.code, 0)
  t.match(add.stderr, /invalid vlan: 5000/)
  t.ok(linkJson(node.vfs[0].netdev!), 'VF untouched')
  t.same(node.vfConfig(), {})
  t.notOk(fs.existsSync(node.stateDir), 'no state written')
})
