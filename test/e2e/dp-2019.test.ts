// The seeds' 2019 files, verbatim: the device plugin config naming PFs by short PCI address in rootDevices,
// and the NAD without cniVersion, on the four-port layout they were written for.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { buildFakeSysfs, fourPorts2019 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { addNetns, addVeth, linkJson } from '../helpers/netns'
import { execPlugin } from '../helpers/plugin-exec'
import { SRIOV_BIN } from '../helpers/sriov-node'
import { dpRun } from '../helpers/sriovdp'

const seed = (f: string) => fs.readFileSync(path.join(__dirname, '../fixtures/seed-configs', f), 'utf8')

t.test('2019 rootDevices config: VFs of the named PFs, never a PF itself; the 2019 NAD attaches one', async (t) => {
  const dp = dpRun(t, seed('sriovdp-config-2019-rootdevices.json'))
  const veths = [addVeth(t, 'tdn'), addVeth(t, 'tdn')]
  const ports = fourPorts2019(4, (p, v) => (p === 0 && v < 2 ? veths[v].name : `enp2s0f${p}v${v}`))
  ports[3].vfs = [] // 02:00.3 has no VFs: rootDevices names it, yet a PF is never offered by its own address
  buildFakeSysfs(dp.sysfs, ports)
  const k = new KubeletStandIn(dp.dpDir, { admitOnFirstList: 1 })
  await k.start()
  t.teardown(() => k.stop())
  dp.start()
  await k.waitForRegistrations(2)
  t.same([...k.registrations].sort(), ['intel.com/sriov_net_A', 'intel.com/sriov_net_B'])
  const a = await k.waitForList('intel.com/sriov_net_A', (l) => l.length === 8)
  t.same(a.map((d) => d.ID).sort(), [...ports[0].vfs, ...ports[2].vfs].map((v) => v.pci).sort(), 'A: the VFs of 02:00.0 and 02:00.2')
  const b = await k.waitForList('intel.com/sriov_net_B', (l) => l.length === 4)
  t.same(b.map((d) => d.ID).sort(), ports[1].vfs.map((v) => v.pci).sort(), 'B: the VFs of 02:00.1 only, not the PF 02:00.3')
  t.same(k.firstLists('intel.com/sriov_net_A').map((l) => l.length), [8], 'the first answer is the full list')

  const vf = ports[0].vfs[0].pci
  const alloc = await k.call('intel.com/sriov_net_A', 'Allocate', { container_requests: [{ devices_ids: [vf] }] })
  t.equal(alloc.container_responses[0].envs.PCIDEVICE_INTEL_COM_SRIOV_NET_A, vf)

  // the 2019 NAD as Multus passes it: verbatim, plus the allocated deviceID
  const nad = JSON.parse(seed('nad-2019-sriov-network.json'))
  t.notOk('cniVersion' in nad, 'the NAD has no cniVersion')
  const pod = addNetns(t, 'tdn')
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'dp2019-'))
  t.teardown(() => fs.rmSync(state, { recursive: true, force: true }))
  const env = { SRIOV_SYSFS_ROOT: dp.sysfs, SRIOV_VF_CONFIG: `record:${path.join(state, 'vfconfig')}`, SRIOV_STATE_DIR: path.join(state, 'sriov'), SRIOV_ADDON_DIR: path.join(os.tmpdir(), 'sriov-ts-addons') }
  const conf = { ...nad, deviceID: vf }
  const add = await execPlugin(SRIOV_BIN, conf, { command: 'ADD', containerId: 'pod2019', netns: pod.path, ifname: 'net1', env })
  t.equal(add.code, 0, `ADD: ${add.stdout}${add.stderr}`)
  t.ok(linkJson('net1', pod.name), 'the VF netdev is net1 in the pod')
  const del = await execPlugin(SRIOV_BIN, conf, { command: 'DEL', containerId: 'pod2019', netns: pod.path, ifname: 'net1', env })
  t.equal(del.code, 0, `DEL: ${del.stdout}${del.stderr}`)
  t.ok(linkJson(veths[0].name), 'the VF netdev is back on the host under its name')
})
