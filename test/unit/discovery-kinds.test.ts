// Discovery of what sits on PCI functions, on fake sysfs trees laid out as the kernel lays them out: a
// ConnectX-5 with RDMA devices on its VFs, vDPA devices of both types, a sub-function on the auxiliary
// bus, a VF in a no-IOMMU vfio group.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { listPciDevices } from '../../host/pci'
import { Sysfs } from '../../host/sysfs'
import { addRdma, addSf, addVdpa, buildFakeSysfs, connectx5, pciDir, setInfiniband, setNoIommu, x540 } from '../helpers/fake-sysfs'

function tree(t: tap.Test): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sysfs-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  return root
}

t.test('RDMA: a ConnectX-5 VF\'s RDMA device and its uverbs, umad and issm char devices', async (t) => {
  const root = tree(t)
  const pf = connectx5(2)
  buildFakeSysfs(root, [pf])
  addRdma(root, pciDir(root, pf.pci), 'mlx5_0', 0)
  addRdma(root, pciDir(root, pf.vfs[0].pci), 'mlx5_2', 2)
  const s = new Sysfs(root)
  const [pfDev, vf0, vf1] = listPciDevices(s, { rdma: true })
  t.same(vf0.rdmaDevices, [{ name: 'mlx5_2', charDevices: ['/dev/infiniband/uverbs2', '/dev/infiniband/issm2', '/dev/infiniband/umad2'] }])
  t.equal(vf0.rdma, true)
  t.same(pfDev.rdmaDevices?.[0].name, 'mlx5_0', 'a PF\'s RDMA device too')
  t.equal(vf1.rdma, false, 'a VF without RDMA device (mlx5_ib not bound to it)')
  t.equal(vf1.rdmaDevices, undefined)
  t.same(vf0.pKeys, [], 'an Ethernet (RoCE) function has no partition key to select on, as in the Go plugin')
  t.equal(listPciDevices(s)[1].rdmaDevices, undefined, 'not read when no selector asks')

  // two RDMA devices on one function: each char device goes to the one its ibdev names
  addRdma(root, pciDir(root, pf.vfs[1].pci), 'mlx5_3', 3)
  addRdma(root, pciDir(root, pf.vfs[1].pci), 'mlx5_9', 9)
  t.same(listPciDevices(s, { rdma: true })[2].rdmaDevices, [
    { name: 'mlx5_3', charDevices: ['/dev/infiniband/uverbs3', '/dev/infiniband/issm3', '/dev/infiniband/umad3'] },
    { name: 'mlx5_9', charDevices: ['/dev/infiniband/uverbs9', '/dev/infiniband/issm9', '/dev/infiniband/umad9'] },
  ])
})

t.test('RDMA: an InfiniBand VF\'s default partition key (index 0 of port 1) is what pKeys select on', async (t) => {
  const root = tree(t)
  const pf = connectx5(1)
  buildFakeSysfs(root, [pf])
  addRdma(root, pciDir(root, pf.vfs[0].pci), 'mlx5_2', 2, ['0x8001', '0xffff', '0x7fff'])
  setInfiniband(root, 'ens1f0v0')
  const s = new Sysfs(root)
  t.match(listPciDevices(s, { rdma: true, linkTypes: true })[1], { linkType: 'infiniband', pKeys: ['0x8001'] })
})

t.test('vDPA: vhost and virtio devices on the vdpa bus, placed on their VFs', async (t) => {
  const root = tree(t)
  const pf = connectx5(3)
  buildFakeSysfs(root, [pf])
  addVdpa(root, pf.vfs[0].pci, 0, 'vhost_vdpa')
  addVdpa(root, pf.vfs[1].pci, 1, 'virtio_vdpa')
  addVdpa(root, pf.vfs[2].pci, 2, undefined)
  const s = new Sysfs(root)
  const [, v0, v1, v2] = listPciDevices(s, { vdpa: true })
  t.same(v0.vdpa, { name: 'vdpa0', driver: 'vhost_vdpa', type: 'vhost', path: '/dev/vhost-vdpa-0' })
  t.same(v1.vdpa, { name: 'vdpa1', driver: 'virtio_vdpa', type: 'virtio' })
  t.same(v2.vdpa, { name: 'vdpa2' }, 'not bound to a vdpa driver: no type')
  t.equal(listPciDevices(s)[1].vdpa, undefined, 'the vdpa bus is read only when a selector asks')
})

t.test('auxiliary: an SF is a device of its PF with its own name, sfnum, netdev and RDMA device', async (t) => {
  const root = tree(t)
  const pf = connectx5(0)
  pf.numaNode = 1
  buildFakeSysfs(root, [pf])
  const sf = addSf(root, pf.pci, 2, 88, 'enp59s0f0s88')
  addRdma(root, sf, 'mlx5_4', 4)
  addSf(root, '0000:99:00.0', 7, 1) // a parent that is not in the pass (gone meanwhile): skipped
  const s = new Sysfs(root)
  const devs = listPciDevices(s, { auxiliary: true, rdma: true, linkTypes: true })
  t.same(devs.map((d) => d.pci), ['0000:3b:00.0', 'mlx5_core.sf.2'], 'the SF follows the PCI functions; its nested mlx5_core.eth.4 is no network device')
  t.match(devs[1], {
    pci: 'mlx5_core.sf.2', vendor: '15b3', device: '1017', driver: 'mlx5_core', numaNode: 1, pfPci: '0000:3b:00.0', pfName: 'ens1f0',
    vfIndex: 88, netdevs: ['enp59s0f0s88'], linkType: 'ether', rdma: true, aux: { type: 'sf', parent: '0000:3b:00.0' },
  })
  t.same(devs[1].rdmaDevices, [{ name: 'mlx5_4', charDevices: ['/dev/infiniband/uverbs4', '/dev/infiniband/issm4', '/dev/infiniband/umad4'] }])
  t.equal(listPciDevices(s).length, 1, 'the auxiliary bus is read only for auxNetDevice resources')
})

t.test('vfio: a group vfio made for a device without an IOMMU is a no-IOMMU group', async (t) => {
  const root = tree(t)
  const pf = x540('eno2', () => undefined)
  pf.vfs[0].driver = 'vfio-pci'
  pf.vfs[0].iommuGroup = 0
  pf.vfs[1].driver = 'vfio-pci'
  pf.vfs[1].iommuGroup = 12
  buildFakeSysfs(root, [pf])
  setNoIommu(root, 0)
  const [, noiommu, iommu] = listPciDevices(new Sysfs(root))
  t.match(noiommu, { iommuGroup: '0', vfioNoIommu: true })
  t.match(iommu, { iommuGroup: '12' })
  t.equal(iommu.vfioNoIommu, undefined)
})
