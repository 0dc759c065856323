// sriovdp serving what the Go plugin serves besides plain VFs, through the kubelet stand-in over real gRPC:
// RDMA VFs of a ConnectX-5, vDPA devices of both types, a sub-function on the auxiliary bus, VFs in no-IOMMU
// vfio groups; each with its Allocate answer, device-info file and env, and kept live (health, rescans,
// config reloads). The sysfs tree is laid out as the kernel lays it out (test/helpers/fake-sysfs.ts).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { addRdma, addRdmaCm, addSf, addVdpa, buildFakeSysfs, connectx5, pciDir, setNoIommu, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { addVeth, ip } from '../helpers/netns'
import { dpRun, SRIOVDP_BIN, type DpRun } from '../helpers/sriovdp'

const CONFIG = {
  resourceList: [
    { resourceName: 'mlnx_rdma', resourcePrefix: 'nvidia.com', selectors: { vendors: ['15b3'], devices: ['1018'], isRdma: true } },
    { resourceName: 'vdpa_vhost', selectors: { vendors: ['15b3'], vdpaType: 'vhost' } },
    { resourceName: 'vdpa_virtio', selectors: { vdpaType: 'virtio' } },
    { resourceName: 'sf', resourcePrefix: 'nvidia.com', deviceType: 'auxNetDevice', selectors: { vendors: ['15b3'], auxTypes: ['sf'], pfNames: ['PFNAME#80-99'], isRdma: true } },
    { resourceName: 'dpdk', selectors: { drivers: ['vfio-pci'] } },
    { resourceName: 'gtp', selectors: { ddpProfiles: ['ICE COMMS Package'] } },
  ],
}

/** The node: ConnectX-5 PF (a veth, for its carrier) with 2 RDMA VFs, a vhost and a virtio vDPA VF and an SF; an X540 with 2 VFs in no-IOMMU groups. */
function node(dp: DpRun, pfName: string): void {
  const cx5 = { ...connectx5(4), name: pfName }
  const intel = x540('eno2', (i) => (i < 6 ? `eno2v${i}` : undefined))
  intel.vfs[6] = { ...intel.vfs[6], driver: 'vfio-pci', iommuGroup: 0 }
  intel.vfs[7] = { ...intel.vfs[7], driver: 'vfio-pci', iommuGroup: 1 }
  buildFakeSysfs(dp.sysfs, [intel, cx5])
  addRdma(dp.sysfs, pciDir(dp.sysfs, cx5.vfs[0].pci), 'mlx5_2', 2)
  addRdma(dp.sysfs, pciDir(dp.sysfs, cx5.vfs[1].pci), 'mlx5_3', 3)
  addVdpa(dp.sysfs, cx5.vfs[2].pci, 0, 'vhost_vdpa')
  addVdpa(dp.sysfs, cx5.vfs[3].pci, 1, 'virtio_vdpa')
  addRdma(dp.sysfs, addSf(dp.sysfs, cx5.pci, 2, 88, 'enp59s0f0s88'), 'mlx5_4', 4)
  setNoIommu(dp.sysfs, 0)
  setNoIommu(dp.sysfs, 1)
  addRdmaCm(dp.sysfs)
}

const devinfo = (dp: DpRun, resource: string, id: string) => JSON.parse(fs.readFileSync(path.join(dp.devinfoDir, `${resource.replace('/', '-')}-${id}-device.json`), 'utf8'))
const specs = (a: any) => a.container_responses[0].devices.map((d: any) => `${d.host_path}${d.container_path === d.host_path ? '' : ` as ${d.container_path}`} ${d.permissions}`)
const info = (a: any, env: string) => JSON.parse(a.container_responses[0].envs[`${env}_INFO`])

t.test('each kind through the kubelet stand-in: lists, Allocate answers, device-info files, env', async (t) => {
  const pf = addVeth(t, 'tdk')
  ip('link', 'set', pf.name, 'up')
  ip('link', 'set', pf.peer, 'up')
  const cfg = JSON.parse(JSON.stringify(CONFIG).replace('PFNAME', pf.name))
  const dp = dpRun(t, cfg)
  node(dp, pf.name)
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  dp.start()
  await k.waitForRegistrations(5)
  t.same([...k.registrations].sort(), ['intel.com/dpdk', 'intel.com/vdpa_vhost', 'intel.com/vdpa_virtio', 'nvidia.com/mlnx_rdma', 'nvidia.com/sf'], 'every resource with devices; gtp has none')

  // RDMA: the VF's uverbs, umad, issm and the node's rdma_cm
  const rdma = await k.waitForList('nvidia.com/mlnx_rdma', (l) => l.length === 2)
  t.same(rdma.map((d) => d.ID), ['0000:3b:00.2', '0000:3b:00.3'])
  const a = await k.call('nvidia.com/mlnx_rdma', 'Allocate', { container_requests: [{ devices_ids: ['0000:3b:00.2'] }] })
  t.same(specs(a), ['/dev/infiniband/uverbs2 rw', '/dev/infiniband/issm2 rw', '/dev/infiniband/umad2 rw', '/dev/infiniband/rdma_cm rw'])
  t.equal(a.container_responses[0].envs.PCIDEVICE_NVIDIA_COM_MLNX_RDMA, '0000:3b:00.2')
  t.same(info(a, 'PCIDEVICE_NVIDIA_COM_MLNX_RDMA')['0000:3b:00.2'].rdma, { uverbs: '/dev/infiniband/uverbs2', issm: '/dev/infiniband/issm2', umad: '/dev/infiniband/umad2', rdma_cm: '/dev/infiniband/rdma_cm', rdma_dev: 'mlx5_2' })
  t.same(devinfo(dp, 'nvidia.com/mlnx_rdma', '0000:3b:00.2'), { type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:3b:00.2', 'rdma-device': 'mlx5_2' } })

  // vDPA: vhost by its char device, virtio without one
  await k.waitForList('intel.com/vdpa_vhost', (l) => l.length === 1 && l[0].ID === '0000:3b:00.4')
  const v = await k.call('intel.com/vdpa_vhost', 'Allocate', { container_requests: [{ devices_ids: ['0000:3b:00.4'] }] })
  t.same(specs(v), ['/dev/vhost-vdpa-0 rw'])
  t.same(info(v, 'PCIDEVICE_INTEL_COM_VDPA_VHOST')['0000:3b:00.4'].vdpa, { mount: '/dev/vhost-vdpa-0' })
  t.same(devinfo(dp, 'intel.com/vdpa_vhost', '0000:3b:00.4'), { type: 'vdpa', version: '1.1.0', vdpa: { 'parent-device': 'vdpa0', driver: 'vhost', path: '/dev/vhost-vdpa-0', 'pci-address': '0000:3b:00.4' } })
  await k.waitForList('intel.com/vdpa_virtio', (l) => l.length === 1 && l[0].ID === '0000:3b:00.5')
  const vv = await k.call('intel.com/vdpa_virtio', 'Allocate', { container_requests: [{ devices_ids: ['0000:3b:00.5'] }] })
  t.same(specs(vv), [])
  t.same(devinfo(dp, 'intel.com/vdpa_virtio', '0000:3b:00.5'), { type: 'vdpa', version: '1.1.0', vdpa: { 'parent-device': 'vdpa1', driver: 'virtio', 'pci-address': '0000:3b:00.5' } })

  // the SF: its name is the device ID, on its PF's NUMA node
  const sfs = await k.waitForList('nvidia.com/sf', (l) => l.length === 1)
  t.same(sfs, [{ ID: 'mlx5_core.sf.2', health: 'Healthy', topology: { nodes: [{ ID: 0 }] } }])
  const s = await k.call('nvidia.com/sf', 'Allocate', { container_requests: [{ devices_ids: ['mlx5_core.sf.2'] }] })
  t.same(specs(s), ['/dev/infiniband/uverbs4 rw', '/dev/infiniband/issm4 rw', '/dev/infiniband/umad4 rw', '/dev/infiniband/rdma_cm rw'])
  t.equal(s.container_responses[0].envs.PCIDEVICE_NVIDIA_COM_SF, 'mlx5_core.sf.2')
  t.match(info(s, 'PCIDEVICE_NVIDIA_COM_SF')['mlx5_core.sf.2'], { generic: { deviceID: 'mlx5_core.sf.2' }, rdma: { rdma_dev: 'mlx5_4' } })
  t.same(devinfo(dp, 'nvidia.com/sf', 'mlx5_core.sf.2'), { type: 'auxiliary', version: '1.1.0', auxiliary: { 'aux-device': 'mlx5_core.sf.2', 'pf-pci-address': '0000:3b:00.0', 'rdma-device': 'mlx5_4' } })

  // no-IOMMU vfio: the host's noiommu-N node, seen as /dev/vfio/N in the container
  await k.waitForList('intel.com/dpdk', (l) => l.length === 2 && l.every((d) => d.health === 'Healthy'))
  const d = await k.call('intel.com/dpdk', 'Allocate', { container_requests: [{ devices_ids: ['0000:01:11.5', '0000:01:11.7'] }] })
  t.same(specs(d), ['/dev/vfio/vfio rw', '/dev/vfio/noiommu-0 as /dev/vfio/0 rw', '/dev/vfio/noiommu-1 as /dev/vfio/1 rw'])
  t.same(info(d, 'PCIDEVICE_INTEL_COM_DPDK')['0000:01:11.7'].vfio, { 'dev-mount': '/dev/vfio/1', mount: '/dev/vfio/vfio' })

  // ddpProfiles: this kernel reports no DDP profile (no devlink here; ice would report it): said in the log
  t.ok(dp.logs().some((l) => /DDP profiles (cannot be read|reported by the kernel)/.test(l.msg)), 'the log says why ddpProfiles match nothing')

  // live: the PF's carrier makes its RDMA VFs, its vDPA VFs and its SF unhealthy, and healthy again
  ip('link', 'set', pf.peer, 'down')
  await k.waitForList('nvidia.com/sf', (l) => l[0]?.health === 'Unhealthy')
  await k.waitForList('nvidia.com/mlnx_rdma', (l) => l.every((x) => x.health === 'Unhealthy'))
  await k.waitForList('intel.com/vdpa_vhost', (l) => l[0]?.health === 'Unhealthy')
  ip('link', 'set', pf.peer, 'up')
  await k.waitForList('nvidia.com/sf', (l) => l[0]?.health === 'Healthy')
  await k.waitForList('nvidia.com/mlnx_rdma', (l) => l.every((x) => x.health === 'Healthy'))

  // rescans follow the vfio binding: a VF leaving vfio-pci leaves the list (a SIGHUP rescan here; a PCI uevent on a node)
  const unbound = path.join(dp.sysfs, 'bus/pci/devices/0000:01:11.7')
  fs.rmSync(path.join(unbound, 'driver'))
  fs.writeFileSync(path.join(unbound, 'uevent'), fs.readFileSync(path.join(unbound, 'uevent'), 'utf8').replace(/^DRIVER=.*\n/m, ''))
  dp.child!.kill('SIGHUP')
  t.same((await k.waitForList('intel.com/dpdk', (l) => l.length === 1)).map((x) => x.ID), ['0000:01:11.5'])

  // a new SF (devlink port add + activate) is found by the next pass, here the one a uevent starts
  addRdma(dp.sysfs, addSf(dp.sysfs, '0000:3b:00.0', 3, 89, 'enp59s0f0s89'), 'mlx5_5', 5)
  fs.writeFileSync(`/sys/class/net/${pf.name}/uevent`, 'change')
  t.same((await k.waitForList('nvidia.com/sf', (l) => l.length === 2)).map((x) => x.ID), ['mlx5_core.sf.2', 'mlx5_core.sf.3'])
})

t.test('config reloads: a kind added to the running config is served; an invalid auxNetDevice config is refused and the running one kept', async (t) => {
  const dp = dpRun(t, { resourceList: [{ resourceName: 'dpdk', selectors: { drivers: ['vfio-pci'] } }] })
  node(dp, 'ens1f0')
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  dp.start()
  await k.waitForList('intel.com/dpdk', (l) => l.length === 2)
  dp.writeConfig({ resourceList: [{ resourceName: 'dpdk', selectors: { drivers: ['vfio-pci'] } }, { resourceName: 'sf', deviceType: 'auxNetDevice', selectors: { auxTypes: ['eth'] } }] })
  await k.waitFor(() => /auxTypes: \\"eth\\" is not an auxiliary network device type.*new config rejected; keeping the running one/.test(dp.stderr), 'the reload refused')
  dp.writeConfig({ resourceList: [{ resourceName: 'dpdk', selectors: { drivers: ['vfio-pci'] } }, { resourceName: 'sf', deviceType: 'auxNetDevice', selectors: { auxTypes: ['sf'] } }, { resourceName: 'vhost', selectors: { vdpaType: 'vhost' } }] })
  t.same((await k.waitForList('intel.com/sf', (l) => l.length === 1)).map((x) => x.ID), ['mlx5_core.sf.2'])
  t.same((await k.waitForList('intel.com/vhost', (l) => l.length === 1)).map((x) => x.ID), ['0000:3b:00.4'])
})

t.test('an auxNetDevice resource without auxTypes stops start-up, naming the resource and field', async (t) => {
  const dp = dpRun(t, { resourceList: [{ resourceName: 'sf', deviceType: 'auxNetDevice', selectors: { vendors: ['15b3'] } }] })
  dp.start()
  t.equal(await dp.exited(), 1)
  t.match(dp.stderr, /resource "sf"\.selectors\.auxTypes: an auxNetDevice resource needs auxTypes/)
})

t.test('sriovdp explain covers each kind: the SFs, and why a device is not offered (vDPA type, DDP profile)', async (t) => {
  const dp = dpRun(t, CONFIG)
  node(dp, 'ens1f0')
  const cfg = JSON.stringify(CONFIG).replace('PFNAME', 'ens1f0')
  fs.writeFileSync(dp.configFile, cfg)
  const run = (args: string[]) => spawnSync(SRIOVDP_BIN, ['explain', '--config-file', dp.configFile, ...args], {
    encoding: 'utf8', env: { ...process.env, SRIOV_SYSFS_ROOT: dp.sysfs, SRIOV_ADDON_DIR: path.join(os.tmpdir(), 'sriov-ts-addons') },
  })
  const text = run([])
  t.equal(text.status, 0, text.stderr)
  t.match(text.stdout, /Auxiliary network devices on this node \(1\)[^\n]*\n\s+mlx5_core\.sf\.2\s+15b3:1017\s+mlx5_core\s+enp59s0f0s88\s+sf 88 of ens1f0, NUMA 0/)
  t.match(text.stdout, /nvidia\.com\/sf: 1 offered, 1 healthy/)
  const json = JSON.parse(run(['--json']).stdout)
  const verdict = (res: string, pci: string) => json.resources.find((r: any) => r.resource === res).functions.find((f: any) => f.pci === pci)
  t.match(verdict('intel.com/vdpa_vhost', '0000:3b:00.5').reason, { field: 'selectors.vdpaType', read: 'virtio', wanted: ['vhost'] })
  t.match(verdict('intel.com/vdpa_vhost', '0000:3b:00.2').reason, { text: /no vDPA device on the vdpa bus sits on this function/ })
  t.match(verdict('intel.com/gtp', '0000:01:10.1').reason, { field: 'selectors.ddpProfiles', text: /the kernel reports one only for ice \(E810\) PFs, through devlink; i40e profiles need Intel's ddptool/ })
  t.match(verdict('intel.com/dpdk', '0000:01:11.7'), { offered: true, healthy: true })
  t.match(verdict('nvidia.com/mlnx_rdma', '0000:3b:00.4').reason, { field: 'selectors.isRdma', read: 'false' })
  t.notOk(json.resources.find((r: any) => r.resource === 'intel.com/dpdk').functions.some((f: any) => f.pci.startsWith('mlx5_core')), 'SFs only in auxNetDevice resources')
  t.same(json.functions.find((f: any) => f.pci === 'mlx5_core.sf.2').parent, '0000:3b:00.0')
})
