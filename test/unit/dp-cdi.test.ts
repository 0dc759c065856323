// CDI specs and Allocate's CDI answer, as the Go plugin writes them (sriov-dp-<prefix>-net-pci-<name>.json).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import type { PciDevice } from '../../host/pci'
import { CdiSpecs, cdiReferences, cdiSpec } from '../../deviceplugin/cdi'
import { parseConfig } from '../../deviceplugin/config'

const dev = (pci: string, o: Partial<PciDevice> = {}): PciDevice => ({
  pci, vendor: '8086', device: '1515', classCode: 0x020000, driver: 'ixgbevf', numaNode: 0, numVfs: 0, totalVfs: 0, netdevs: [], uioDevices: [], rdma: false, pKeys: [], ...o,
})
const [r] = parseConfig('{"resourceList":[{"resourceName":"dpdk","selectors":{"drivers":["vfio-pci","ixgbevf"]}}]}', 'example.com')
const vfio = dev('0000:01:11.5', { driver: 'vfio-pci', iommuGroup: '71' })
const none = { vhostNet: false, tun: false }

t.test('one device per PCI address with its device nodes; devices without any are left out', async (t) => {
  t.same(cdiSpec(r, [vfio, dev('0000:01:10.1')], none), {
    cdiVersion: '0.5.0',
    kind: 'example.com/net-pci',
    devices: [{ name: '0000:01:11.5', containerEdits: { deviceNodes: [{ path: '/dev/vfio/vfio', hostPath: '/dev/vfio/vfio', permissions: 'rw' }, { path: '/dev/vfio/71', hostPath: '/dev/vfio/71', permissions: 'rw' }] } }],
  })
})

t.test('Allocate: qualified names and the annotation, keyed per resource; none when the key would be too long', async (t) => {
  t.same(cdiReferences(r, ['0000:01:11.5']), { devices: [{ name: 'example.com/net-pci=0000:01:11.5' }], annotations: { 'cdi.k8s.io/example.com_dpdk': 'example.com/net-pci=0000:01:11.5' } })
  const [long] = parseConfig(JSON.stringify({ resourceList: [{ resourceName: 'x'.repeat(60), selectors: {} }] }), 'example.com')
  t.same(cdiReferences(long, ['0000:01:11.5']).annotations, {})
  t.same(cdiReferences(r, []), { devices: [], annotations: {} })
})

t.test('spec files: written when they change, removed when empty, all of ours removed at once', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdi-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'other-vendor.json'), '{}')
  const specs = new CdiSpecs(dir)
  t.same([...specs.write(r, [vfio], none)], ['0000:01:11.5'])
  const file = path.join(dir, 'sriov-dp-example.com-net-pci-dpdk.json')
  const ino = fs.statSync(file).ino
  specs.write(r, [vfio], none)
  t.equal(fs.statSync(file).ino, ino, 'unchanged: not rewritten')
  t.same([...specs.write(r, [dev('0000:01:10.1')], none)], [])
  t.notOk(fs.existsSync(file), 'no device with a node: no spec')
  specs.write(r, [vfio], none)
  fs.writeFileSync(path.join(dir, 'sriov-dp-example.com-net-pci-stale.json'), '{}')
  specs.removeAll()
  t.same(fs.readdirSync(dir), ['other-vendor.json'], 'another vendor\'s spec stays')
})

t.test('CDI carries the other device kinds\' nodes: a no-IOMMU group under its container path, RDMA and vhost-vdpa nodes', async (t) => {
  const [rdma] = parseConfig('{"resourceList":[{"resourceName":"rdma","selectors":{"isRdma":true}}]}', 'example.com')
  const rdmaVf = dev('0000:3b:00.2', { vendor: '15b3', driver: 'mlx5_core', rdma: true, rdmaDevices: [{ name: 'mlx5_2', charDevices: ['/dev/infiniband/uverbs2', '/dev/infiniband/umad2'] }] })
  t.same(cdiSpec(rdma, [rdmaVf], none).devices[0].containerEdits.deviceNodes.map((n) => n.hostPath).filter((p) => !p.endsWith('rdma_cm')), ['/dev/infiniband/uverbs2', '/dev/infiniband/umad2'])
  const noiommu = dev('0000:01:11.6', { driver: 'vfio-pci', iommuGroup: '3', vfioNoIommu: true })
  t.same(cdiSpec(r, [noiommu], none).devices[0].containerEdits.deviceNodes[1], { path: '/dev/vfio/3', hostPath: '/dev/vfio/noiommu-3', permissions: 'rw' })
  const [vhost] = parseConfig('{"resourceList":[{"resourceName":"vdpa","selectors":{"vdpaType":"vhost"}}]}', 'example.com')
  const vdpaVf = dev('0000:3b:00.3', { vdpa: { name: 'vdpa0', driver: 'vhost_vdpa', type: 'vhost', path: '/dev/vhost-vdpa-0' } })
  t.same(cdiSpec(vhost, [vdpaVf], none).devices, [{ name: '0000:3b:00.3', containerEdits: { deviceNodes: [{ path: '/dev/vhost-vdpa-0', hostPath: '/dev/vhost-vdpa-0', permissions: 'rw' }] } }])
})
