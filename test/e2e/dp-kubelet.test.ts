// sriovdp against the kubelet stand-in over real gRPC unix sockets, on fake sysfs trees and real veths.
import fs from 'node:fs'
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import t from 'tap'
import { api } from '../../deviceplugin/api'
import { addVf, buildFakeSysfs, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { addVeth, ip } from '../helpers/netns'
import { dpRun, X540_RESOURCE, X540_SEED } from '../helpers/sriovdp'

const SEED = X540_SEED
const RES = X540_RESOURCE

async function kubelet(t: any, dir: string) {
  const k = new KubeletStandIn(dir)
  await k.start()
  t.teardown(() => k.stop())
  return k
}

t.test('the X540 node: registration, 8 healthy VFs with NUMA topology, Allocate, preferred allocation', async (t) => {
  const dp = dpRun(t, SEED)
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = await kubelet(t, dp.dpDir)
  dp.start()
  await k.waitForRegistrations(1)
  t.same(k.registrations, [RES])
  const list = await k.waitForList(RES, (l) => l.length === 8)
  t.same(list.map((d) => d.ID), ['0000:01:10.1', '0000:01:10.3', '0000:01:10.5', '0000:01:10.7', '0000:01:11.1', '0000:01:11.3', '0000:01:11.5', '0000:01:11.7'])
  t.ok(list.every((d) => d.health === 'Healthy' && d.topology?.nodes[0].ID === 0))
  t.match(k.plugins.get(RES)!.options, { get_preferred_allocation_available: true })

  const alloc = await k.call(RES, 'Allocate', { container_requests: [{ devices_ids: ['0000:01:10.1', '0000:01:10.3'] }] })
  const envs = alloc.container_responses[0].envs
  t.equal(envs.PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE, '0000:01:10.1,0000:01:10.3')
  t.same(JSON.parse(envs.PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE_INFO)['0000:01:10.1'], { generic: { deviceID: '0000:01:10.1' } })
  const info = JSON.parse(fs.readFileSync(path.join(dp.devinfoDir, 'intel.com-intel_sriov_netdevice-0000:01:10.1-device.json'), 'utf8'))
  t.same(info, { type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:01:10.1' } })
  await t.rejects(k.call(RES, 'Allocate', { container_requests: [{ devices_ids: ['0000:99:00.1'] }] }), /unknown device IDs 0000:99:00\.1/)

  const pref = await k.call(RES, 'GetPreferredAllocation', { container_requests: [{ available_deviceIDs: list.map((d) => d.ID), must_include_deviceIDs: ['0000:01:11.7'], allocation_size: 3 }] })
  t.equal(pref.container_responses[0].deviceIDs.length, 3)
  t.equal(pref.container_responses[0].deviceIDs[0], '0000:01:11.7', 'must-include first')

  // the start-up log says where the time went, one mark per step (values are not checked: they are timings)
  const started = dp.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'sriovdp started')
  t.same(Object.keys(started?.msSinceStart ?? {}), ['loaded', 'prepared', 'discovered', 'bound', 'registered', 'served'])
})

t.test('vfio-pci VFs get /dev/vfio DeviceSpecs; the default-route device and PFs with VFs are never offered', async (t) => {
  const dp = dpRun(t, { resourceList: [{ resourceName: 'dpdk', selectors: { drivers: ['vfio-pci'] } }, { resourceName: 'all', selectors: { vendors: ['8086'] } }] })
  const pf = x540('eno2', (i) => (i < 6 ? `eno2v${i}` : undefined))
  pf.vfs[6].driver = 'vfio-pci'
  pf.vfs[6].iommuGroup = 71
  pf.vfs[7].driver = 'vfio-pci'
  pf.vfs[7].iommuGroup = 72
  buildFakeSysfs(dp.sysfs, [pf])
  const k = await kubelet(t, dp.dpDir)
  dp.start()
  await k.waitForRegistrations(2)
  const dpdk = await k.waitForList('intel.com/dpdk', (l) => l.length === 2)
  t.same(dpdk.map((d) => d.ID), ['0000:01:11.5', '0000:01:11.7'])
  const all = await k.waitForList('intel.com/all', (l) => l.length === 6)
  t.notOk(all.some((d) => d.ID === '0000:01:00.0'), 'the PF with VFs is not offered')
  const a = await k.call('intel.com/dpdk', 'Allocate', { container_requests: [{ devices_ids: ['0000:01:11.5'] }] })
  t.same(a.container_responses[0].devices.map((d: any) => [d.host_path, d.permissions]), [['/dev/vfio/vfio', 'rw'], ['/dev/vfio/71', 'rw']])
  t.match(JSON.parse(a.container_responses[0].envs.PCIDEVICE_INTEL_COM_DPDK_INFO)['0000:01:11.5'], { vfio: { 'dev-mount': '/dev/vfio/71' } })
})

t.test('live changes reach ListAndWatch: PF carrier, new VFs, config edits, a bad config kept out', async (t) => {
  const pfVeth = addVeth(t, 'tdp')
  const vfVeths = [addVeth(t, 'tdp'), addVeth(t, 'tdp')]
  const dp = dpRun(t, SEED)
  const pf = x540(pfVeth.name, (i) => vfVeths[i]?.name)
  pf.vfs = pf.vfs.slice(0, 2)
  buildFakeSysfs(dp.sysfs, [pf])
  ip('link', 'set', pfVeth.name, 'up')
  ip('link', 'set', pfVeth.peer, 'up')
  const k = await kubelet(t, dp.dpDir)
  dp.start()
  await k.waitForList(RES, (l) => l.length === 2 && l.every((d) => d.health === 'Healthy'))

  ip('link', 'set', pfVeth.peer, 'down') // the PF loses carrier
  await k.waitForList(RES, (l) => l.length === 2 && l.every((d) => d.health === 'Unhealthy'))
  ip('link', 'set', pfVeth.peer, 'up')
  await k.waitForList(RES, (l) => l.every((d) => d.health === 'Healthy'))

  const newVf = addVeth(t, 'tdp') // a new VF arrives with its netdev, as raising sriov_numvfs does
  addVf(dp.sysfs, pf, { pci: '0000:01:10.5', vendor: '8086', device: '1515', driver: 'ixgbevf', netdev: newVf.name }, 2)
  ip('link', 'set', newVf.name, 'up')
  const three = await k.waitForList(RES, (l) => l.length === 3)
  t.ok(three.some((d) => d.ID === '0000:01:10.5'))

  fs.writeFileSync(dp.configFile, '{"resourceList": [{"resourceName": "bad name!"}]}')
  await k.waitFor(() => /resourceName.*new config rejected; keeping the running one/.test(dp.stderr), 'the bad config rejected')
  fs.writeFileSync(dp.configFile, JSON.stringify({ resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: { pciAddresses: ['0000:01:10.1'] } }] }))
  const one = await k.waitForList(RES, (l) => l.length === 1)
  t.same(one.map((d) => d.ID), ['0000:01:10.1'])
})

t.test('a kubelet restart (sockets deleted, kubelet.sock re-created) is followed by re-registration', async (t) => {
  const dp = dpRun(t, SEED)
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = await kubelet(t, dp.dpDir)
  dp.start()
  await k.waitForRegistrations(1)
  await k.restart()
  await k.waitForRegistrations(2)
  await k.waitForList(RES, (l) => l.length === 8)
  t.ok(fs.readdirSync(dp.dpDir).some((f) => f.startsWith('sriov_')), 'plugin socket served again')
})

t.test('watcher mode: the socket in plugins_registry answers GetInfo and serves the device plugin', async (t) => {
  const dp = dpRun(t, SEED)
  buildFakeSysfs(dp.sysfs, [x540()])
  fs.mkdirSync(dp.registryDir, { recursive: true })
  const k = new KubeletStandIn(dp.dpDir)
  t.teardown(() => k.stop())
  dp.start(['--registration', 'auto'])
  const sock = 'intel.com_intel_sriov_netdevice.sock'
  for (let i = 0; i < 200 && !fs.existsSync(path.join(dp.registryDir, sock)); i++) await new Promise((r) => setTimeout(r, 25))
  const conn = await k.discover(dp.registryDir, sock)
  t.equal(conn.resource, RES)
  await k.waitForList(RES, (l) => l.length === 8)
})

t.test('an invalid config at start-up exits non-zero naming the resource and field; SIGTERM cleans up', async (t) => {
  const bad = dpRun(t, { resourceList: [{ resourceName: 'x', selectors: { pfNames: ['eno2#3-1'] } }] })
  bad.start()
  t.equal(await bad.exited(), 1)
  t.match(bad.stderr, /resource "x"\.selectors\.pfNames: range "3-1" in "eno2#3-1" ends before it starts/)

  const dp = dpRun(t, SEED)
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = await kubelet(t, dp.dpDir)
  dp.start()
  await k.waitForList(RES, (l) => l.length === 8)
  await k.call(RES, 'Allocate', { container_requests: [{ devices_ids: ['0000:01:10.1'] }] })
  t.equal(fs.readdirSync(dp.devinfoDir).length, 1)
  dp.child!.kill('SIGTERM')
  t.equal(await dp.exited(), 0)
  t.same(fs.readdirSync(dp.dpDir).filter((f) => f.startsWith('sriov_')), [], 'socket removed')
  t.same(fs.readdirSync(dp.devinfoDir), [], 'device-info files removed')
})

t.test('HTTP endpoints; a broken ListAndWatch stream does not take the server down; uio DeviceSpecs', async (t) => {
  const pfVeth = addVeth(t, 'tdh')
  const dp = dpRun(t, { resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: { drivers: ['ixgbevf', 'uio_pci_generic'] } }] })
  const pf = x540(pfVeth.name)
  pf.vfs[7].driver = 'uio_pci_generic'
  delete pf.vfs[7].netdev
  buildFakeSysfs(dp.sysfs, [pf])
  fs.mkdirSync(path.join(dp.sysfs, 'devices/pci0000:00/0000:01:11.7/uio/uio3'), { recursive: true })
  ip('link', 'set', pfVeth.name, 'up')
  ip('link', 'set', pfVeth.peer, 'up')
  const k = await kubelet(t, dp.dpDir)
  const port = 19000 + (process.pid % 1000)
  dp.start(['--http-addr', `127.0.0.1:${port}`])
  await k.waitForList(RES, (l) => l.length === 8)
  await k.waitFor(() => dp.logs().some((l) => l.msg === 'HTTP endpoints listening'), 'HTTP up') // it starts once devices are served

  const health = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(health.status, 200)
  const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as any
  t.match(status.resources, [{ resource: RES, registered: true }])
  t.equal(status.resources[0].devices.length, 8)
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  t.match(metrics, /sriovdp_devices\{resource="intel\.com\/intel_sriov_netdevice",health="Healthy"\} 8/)
  t.match(metrics, /sriovdp_registrations_total\{resource="intel\.com\/intel_sriov_netdevice"\} 1/)

  const uio = await k.call(RES, 'Allocate', { container_requests: [{ devices_ids: ['0000:01:11.7'] }] })
  t.same(uio.container_responses[0].devices.map((d: any) => d.host_path), ['/dev/uio3'])

  // a second watcher whose connection dies abruptly; the plugin must keep serving the kubelet
  const { DevicePlugin } = api()
  const sock = path.join(dp.dpDir, fs.readdirSync(dp.dpDir).find((f) => f.startsWith('sriov_'))!)
  const rogue = new DevicePlugin(`unix://${sock}`, grpc.credentials.createInsecure()) as any
  const stream = rogue.ListAndWatch({})
  await new Promise((r) => stream.once('data', r))
  stream.on('error', () => {})
  stream.cancel()
  rogue.close()
  ip('link', 'set', pfVeth.peer, 'down')
  await k.waitForList(RES, (l) => l.every((d) => d.health === 'Unhealthy'))
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'still serving after a stream broke')
  t.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /sriovdp_devices\{resource="intel\.com\/intel_sriov_netdevice",health="Unhealthy"\} 8/)
})
