// Config, selection and Allocate for RDMA functions, vDPA devices, sub-functions and no-IOMMU vfio groups,
// on devices as discovery reports them (test/unit/discovery-kinds.test.ts reads them from sysfs).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import type { PciDevice } from '../../host/pci'
import { allocateContainer } from '../../deviceplugin/allocation'
import { parseConfig } from '../../deviceplugin/config'
import { assignDevices, matchesSelector, selectorRejection } from '../../deviceplugin/selectors'
import { addRdmaCm } from '../helpers/fake-sysfs'

const parse = (o: object, warnings: string[] = []) => parseConfig(JSON.stringify(o), 'intel.com', warnings)
const dev = (pci: string, o: Partial<PciDevice> = {}): PciDevice => ({
  pci, vendor: '15b3', device: '1018', classCode: 0x020000, driver: 'mlx5_core', numaNode: 0, numVfs: 0, totalVfs: 0, netdevs: [], uioDevices: [], rdma: false, pKeys: [],
  pfPci: '0000:3b:00.0', pfName: 'ens1f0', vfIndex: 0, ...o,
})
const NO_VHOST = { vhostNet: false, tun: false }
const rdmaVf = dev('0000:3b:00.2', { netdevs: ['ens1f0v0'], rdma: true, rdmaDevices: [{ name: 'mlx5_2', charDevices: ['/dev/infiniband/uverbs2', '/dev/infiniband/issm2', '/dev/infiniband/umad2'] }] })
const sf = dev('mlx5_core.sf.2', { device: '1017', vfIndex: 88, netdevs: ['enp59s0f0s88'], aux: { type: 'sf', parent: '0000:3b:00.0' } })

/** A fresh device-info directory, and a sysfs (SRIOV_SYSFS_ROOT) with rdma_ucm's rdma_cm or without. */
function dirs(t: tap.Test, rdmaCm = false): { devinfo: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kinds-'))
  const before = process.env.SRIOV_SYSFS_ROOT
  process.env.SRIOV_SYSFS_ROOT = path.join(root, 'sys')
  if (rdmaCm) addRdmaCm(path.join(root, 'sys'))
  t.teardown(() => {
    if (before === undefined) delete process.env.SRIOV_SYSFS_ROOT
    else process.env.SRIOV_SYSFS_ROOT = before
    fs.rmSync(root, { recursive: true, force: true })
  })
  return { devinfo: path.join(root, 'devinfo') }
}
const readInfo = (dir: string, file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))

t.test('config: auxNetDevice resources need auxTypes ["sf"]; fields a deviceType does not have are warned about and dropped', async (t) => {
  const warnings: string[] = []
  const [aux, net] = parse({ resourceList: [
    { resourceName: 'sf', deviceType: 'auxNetDevice', selectors: { vendors: ['15b3'], auxTypes: ['sf'], pfNames: ['ens1f0#80-90'], pciAddresses: ['0000:3b:00.0'] } },
    { resourceName: 'vf', selectors: { vendors: ['15b3'], auxTypes: ['sf'] } },
  ] }, warnings)
  t.match(aux.selectors, [{ vendors: ['15b3'], auxTypes: ['sf'], pfNames: [{ written: 'ens1f0#80-90', name: 'ens1f0' }] }])
  t.same(Object.keys(aux.selectors[0]).sort(), ['auxTypes', 'pfNames', 'vendors'], 'pciAddresses dropped')
  t.same(net.selectors, [{ vendors: ['15b3'] }])
  t.same(warnings, [
    'resource "sf".selectors.pciAddresses: not a selector of auxNetDevice resources; ignored',
    'resource "vf".selectors.auxTypes: applies to auxNetDevice resources only; ignored',
  ])
  const cases: [object, RegExp][] = [
    [{ resourceList: [{ resourceName: 'sf', deviceType: 'auxNetDevice', selectors: { vendors: ['15b3'] } }] }, /resource "sf"\.selectors\.auxTypes: an auxNetDevice resource needs auxTypes/],
    [{ resourceList: [{ resourceName: 'sf', deviceType: 'auxNetDevice', selectors: [{ auxTypes: ['sf'] }, { auxTypes: ['eth'] }] }] }, /resource "sf"\.selectors\[1\]\.auxTypes: "eth" is not an auxiliary network device type \(supported: sf\)/],
    [{ resourceList: [{ resourceName: 'v', selectors: { vdpaType: 'vhost', isRdma: true } }] }, /resource "v"\.selectors: isRdma and vdpaType cannot be used together/],
    [{ resourceList: [{ resourceName: 'v', selectors: { vdpaType: 'vhost-vdpa' } }] }, /resource "v"\.selectors\.vdpaType: must be "virtio" or "vhost"/],
  ]
  for (const [cfg, msg] of cases) t.throws(() => parse(cfg), msg)
})

t.test('selection: auxNetDevice resources take sub-functions only, by their PF\'s identity, pfNames with sfnum ranges, auxTypes', async (t) => {
  const resources = parse({ resourceList: [
    { resourceName: 'sf', deviceType: 'auxNetDevice', selectors: { vendors: ['15b3'], devices: ['1017'], auxTypes: ['sf'], pfNames: ['ens1f0#80-90'] } },
    { resourceName: 'vf', selectors: { vendors: ['15b3'] } },
  ] })
  const other = dev('mlx5_core.sf.3', { device: '1017', vfIndex: 7, aux: { type: 'sf', parent: '0000:3b:00.0' } })
  const out = assignDevices([rdmaVf, sf, other], resources, new Set())
  t.same(out.get('intel.com/sf')!.map((d) => d.pci), ['mlx5_core.sf.2'])
  t.same(out.get('intel.com/vf')!.map((d) => d.pci), ['0000:3b:00.2'], 'a netDevice resource never takes a sub-function')
  t.match(selectorRejection(other, resources[0].selectors[0]), { field: 'pfNames', read: 'ens1f0#7' })
  t.match(selectorRejection(sf, { auxTypes: ['eth'] }), { field: 'auxTypes', read: 'sf', wanted: ['eth'] })
})

t.test('selection: vdpaType by the vDPA driver; isRdma; pKeys on the default key', async (t) => {
  const vhost = dev('0000:3b:00.3', { vdpa: { name: 'vdpa0', driver: 'vhost_vdpa', type: 'vhost', path: '/dev/vhost-vdpa-0' } })
  const virtio = dev('0000:3b:00.4', { vdpa: { name: 'vdpa1', driver: 'virtio_vdpa', type: 'virtio' } })
  t.ok(matchesSelector(vhost, { vdpaType: 'vhost' }))
  t.ok(matchesSelector(virtio, { vdpaType: 'virtio' }))
  t.match(selectorRejection(virtio, { vdpaType: 'vhost' }), { field: 'vdpaType', read: 'virtio', wanted: ['vhost'] })
  t.match(selectorRejection(rdmaVf, { vdpaType: 'vhost' }), { field: 'vdpaType', note: /no vDPA device/ })
  t.match(selectorRejection(dev('0000:3b:00.5', { vdpa: { name: 'vdpa2' } }), { vdpaType: 'vhost' }), { read: 'vdpa2 bound to no driver' })
  t.ok(matchesSelector(rdmaVf, { isRdma: true }))
  t.ok(matchesSelector(dev('0000:3b:00.2', { pKeys: ['0x8001'] }), { pKeys: ['0x8001'] }))
  t.notOk(matchesSelector(dev('0000:3b:00.2', { pKeys: ['0x8001'] }), { pKeys: ['0x7fff'] }))
})

t.test('selection: ddpProfiles on the profile the kernel reports; none reported matches nothing, saying why', async (t) => {
  const e810vf = dev('0000:af:01.0', { vendor: '8086', device: '1889', driver: 'iavf', ddpProfile: 'ICE COMMS Package' })
  t.ok(matchesSelector(e810vf, { ddpProfiles: ['ICE COMMS Package'] }))
  t.match(selectorRejection(e810vf, { ddpProfiles: ['ICE OS Default Package'] }), { field: 'ddpProfiles', read: 'ICE COMMS Package' })
  t.match(selectorRejection(dev('0000:02:02.0', { vendor: '8086', driver: 'iavf' }), { ddpProfiles: ['GTP'] }), { field: 'ddpProfiles', note: /only for ice \(E810\) PFs, through devlink; i40e profiles need Intel's ddptool/ })
})

t.test('Allocate, RDMA: the VF\'s uverbs, umad, issm and rdma_cm; rdma in _INFO and rdma-device in device-info', async (t) => {
  const { devinfo } = dirs(t, true)
  const [r] = parse({ resourceList: [{ resourceName: 'rdma', selectors: { vendors: ['15b3'], isRdma: true } }] })
  const out = allocateContainer([rdmaVf], r, { devinfoDir: devinfo, vhost: NO_VHOST })
  t.same(out.devices.map((d) => [d.host_path, d.container_path, d.permissions]), [
    ['/dev/infiniband/uverbs2', '/dev/infiniband/uverbs2', 'rw'], ['/dev/infiniband/issm2', '/dev/infiniband/issm2', 'rw'],
    ['/dev/infiniband/umad2', '/dev/infiniband/umad2', 'rw'], ['/dev/infiniband/rdma_cm', '/dev/infiniband/rdma_cm', 'rw'],
  ])
  t.same(JSON.parse(out.envs.PCIDEVICE_INTEL_COM_RDMA_INFO)['0000:3b:00.2'], {
    generic: { deviceID: '0000:3b:00.2' },
    rdma: { uverbs: '/dev/infiniband/uverbs2', issm: '/dev/infiniband/issm2', umad: '/dev/infiniband/umad2', rdma_cm: '/dev/infiniband/rdma_cm', rdma_dev: 'mlx5_2' },
  })
  t.same(readInfo(devinfo, 'intel.com-rdma-0000:3b:00.2-device.json'), { type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:3b:00.2', 'rdma-device': 'mlx5_2' } })
  // without isRdma the VF is a plain VF, as in the Go plugin
  const [plain] = parse({ resourceList: [{ resourceName: 'plain', selectors: { vendors: ['15b3'] } }] })
  t.same(allocateContainer([rdmaVf], plain, { devinfoDir: devinfo, vhost: NO_VHOST }).devices, [])
})

t.test('Allocate, vDPA: a vhost device is handed over as its /dev/vhost-vdpa-N; device-info type vdpa', async (t) => {
  const { devinfo } = dirs(t)
  const vhost = dev('0000:3b:00.3', { vdpa: { name: 'vdpa0', driver: 'vhost_vdpa', type: 'vhost', path: '/dev/vhost-vdpa-0' } })
  const [r] = parse({ resourceList: [{ resourceName: 'vhost', selectors: { vendors: ['15b3'], vdpaType: 'vhost' } }] })
  const out = allocateContainer([vhost], r, { devinfoDir: devinfo, vhost: NO_VHOST })
  t.same(out.devices, [{ container_path: '/dev/vhost-vdpa-0', host_path: '/dev/vhost-vdpa-0', permissions: 'rw' }])
  t.same(JSON.parse(out.envs.PCIDEVICE_INTEL_COM_VHOST_INFO)['0000:3b:00.3'].vdpa, { mount: '/dev/vhost-vdpa-0' })
  t.same(readInfo(devinfo, 'intel.com-vhost-0000:3b:00.3-device.json'), { type: 'vdpa', version: '1.1.0', vdpa: { 'parent-device': 'vdpa0', driver: 'vhost', path: '/dev/vhost-vdpa-0', 'pci-address': '0000:3b:00.3' } })

  const virtio = dev('0000:3b:00.4', { vdpa: { name: 'vdpa1', driver: 'virtio_vdpa', type: 'virtio' } })
  const [rv] = parse({ resourceList: [{ resourceName: 'virtio', selectors: { vdpaType: 'virtio' } }] })
  t.same(allocateContainer([virtio], rv, { devinfoDir: devinfo, vhost: NO_VHOST }).devices, [], 'a virtio device is a kernel netdev: no device node')
  t.same(readInfo(devinfo, 'intel.com-virtio-0000:3b:00.4-device.json'), { type: 'vdpa', version: '1.1.0', vdpa: { 'parent-device': 'vdpa1', driver: 'virtio', 'pci-address': '0000:3b:00.4' } })
})

t.test('Allocate, auxiliary: the SF\'s name as device ID, device-info type auxiliary, its RDMA devices with isRdma', async (t) => {
  const { devinfo } = dirs(t)
  const [r] = parse({ resourceList: [{ resourceName: 'sf', deviceType: 'auxNetDevice', selectors: { auxTypes: ['sf'], isRdma: true }, additionalInfo: { '0000:3b:00.0': { port: 'p0' } } }] })
  const withRdma = { ...sf, rdma: true, rdmaDevices: [{ name: 'mlx5_4', charDevices: ['/dev/infiniband/uverbs4'] }] }
  const out = allocateContainer([withRdma], r, { devinfoDir: devinfo, vhost: NO_VHOST })
  t.equal(out.envs.PCIDEVICE_INTEL_COM_SF, 'mlx5_core.sf.2')
  t.same(JSON.parse(out.envs.PCIDEVICE_INTEL_COM_SF_INFO)['mlx5_core.sf.2'], { generic: { deviceID: 'mlx5_core.sf.2' }, rdma: { uverbs: '/dev/infiniband/uverbs4', rdma_dev: 'mlx5_4' }, extra: { port: 'p0' } }, 'additionalInfo of its parent function, as in the Go plugin')
  t.same(out.devices.map((d) => d.host_path), ['/dev/infiniband/uverbs4'], 'no rdma_cm on this node')
  t.same(readInfo(devinfo, 'intel.com-sf-mlx5_core.sf.2-device.json'), { type: 'auxiliary', version: '1.1.0', auxiliary: { 'aux-device': 'mlx5_core.sf.2', 'pf-pci-address': '0000:3b:00.0', 'rdma-device': 'mlx5_4' } })
})

t.test('Allocate, no-IOMMU vfio: /dev/vfio/noiommu-N on the host is /dev/vfio/N in the container', async (t) => {
  const vf = dev('0000:01:10.1', { vendor: '8086', device: '1515', driver: 'vfio-pci', iommuGroup: '0', vfioNoIommu: true, pfName: 'eno2' })
  const [r] = parse({ resourceList: [{ resourceName: 'dpdk', selectors: { drivers: ['vfio-pci'] } }] })
  const out = allocateContainer([vf], r, { devinfoDir: fs.mkdtempSync(path.join(os.tmpdir(), 'devinfo-')), vhost: NO_VHOST })
  t.same(out.devices, [
    { container_path: '/dev/vfio/vfio', host_path: '/dev/vfio/vfio', permissions: 'rw' },
    { container_path: '/dev/vfio/0', host_path: '/dev/vfio/noiommu-0', permissions: 'rw' },
  ])
  t.same(JSON.parse(out.envs.PCIDEVICE_INTEL_COM_DPDK_INFO)['0000:01:10.1'].vfio, { 'dev-mount': '/dev/vfio/0', mount: '/dev/vfio/vfio' })
})
