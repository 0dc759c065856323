import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { resolveVf } from '../../host/vf-device'
import { listPciDevices } from '../../host/pci'
import { parseConfig } from '../../deviceplugin/config'
import { discoveryNeeds } from '../../deviceplugin/selectors'
import { Sysfs } from '../../host/sysfs'
import { buildFakeSysfs } from '../helpers/fake-sysfs'

t.test('VF resolution from sysfs: PF, index, netdev, DPDK mode, and clear errors', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sysfs-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  buildFakeSysfs(root, [{ pci: '0000:01:00.0', name: 'eno2', vfs: [
    { pci: '0000:01:10.1', netdev: 'eno2v0' },
    { pci: '0000:01:10.3', driver: 'vfio-pci', iommuGroup: 42 },
  ] }])
  const s = new Sysfs(root)
  t.same(resolveVf('0000:01:10.1', s), { pci: '0000:01:10.1', pfName: 'eno2', pfPci: '0000:01:00.0', vfIndex: 0, netdev: 'eno2v0', driver: 'ixgbevf', dpdk: false })
  t.same(resolveVf('0000:01:10.3', s), { pci: '0000:01:10.3', pfName: 'eno2', pfPci: '0000:01:00.0', vfIndex: 1, driver: 'vfio-pci', dpdk: true })
  t.throws(() => resolveVf('0000:09:00.0', s), /not found.*check deviceID/)
  t.throws(() => resolveVf('0000:01:00.0', s), /not an SR-IOV VF/)
})

t.test('VF index from the PF\'s SR-IOV offset and stride, confirmed by one link; anything else falls back to the scan', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sysfs-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  buildFakeSysfs(root, [{ pci: '0000:01:00.0', name: 'eno2', vfs: [
    { pci: '0000:01:10.1', netdev: 'eno2v0' },
    { pci: '0000:01:10.3', netdev: 'eno2v1' },
  ] }])
  class Counting extends Sysfs {
    lists: string[] = []
    override list(rel: string): string[] {
      this.lists.push(rel)
      return super.list(rel)
    }
  }
  const pfDir = Sysfs.pciDevice('0000:01:00.0')
  const attr = (name: string, value: string) => fs.writeFileSync(path.join(root, pfDir, name), value + '\n')
  // VF n at routing ID 0x100 (01:00.0) + 0x81 + 2n: 01:10.1, 01:10.3
  for (const [offset, scanned] of [['129', false], ['130', true], ['127', true], ['0x81', false]] as const) {
    attr('sriov_offset', offset)
    attr('sriov_stride', '2')
    for (const [pci, vfIndex] of [['0000:01:10.1', 0], ['0000:01:10.3', 1]] as const) {
      const s = new Counting(root)
      t.equal(resolveVf(pci, s).vfIndex, vfIndex, `${pci} with offset ${offset}`)
      t.equal(s.lists.includes(pfDir), scanned, `${pci} with offset ${offset}: ${scanned ? 'scanned' : 'not scanned'}`)
    }
  }
  attr('sriov_stride', '0')
  const s = new Counting(root)
  t.equal(resolveVf('0000:01:10.3', s).vfIndex, 1, 'a stride of 0 is scanned')
  t.ok(s.lists.includes(pfDir))
})

t.test('PCI discovery: the same devices from uevent files and from the single attributes', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sysfs-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  buildFakeSysfs(root, [{ pci: '0000:01:00.0', name: 'eno2', numaNode: 1, vfs: [
    { pci: '0000:01:10.1', netdev: 'eno2v0' },
    { pci: '0000:01:10.3', driver: 'vfio-pci', iommuGroup: 42, vendor: '15b3', device: '101E' },
  ] }])
  const s = new Sysfs(root)
  const fromUevent = listPciDevices(s, { linkTypes: true })
  t.same(fromUevent.map((d) => d.pci), ['0000:01:00.0', '0000:01:10.1', '0000:01:10.3'])
  const [pf, vf0, vf1] = fromUevent
  t.match(pf, { vendor: '8086', device: '1528', classCode: 0x020000, driver: 'ixgbe', numVfs: 2, totalVfs: 64, netdevs: ['eno2'], numaNode: 1 })
  t.equal(pf.pfPci, undefined)
  t.match(vf0, { pfPci: '0000:01:00.0', pfName: 'eno2', vfIndex: 0, driver: 'ixgbevf', netdevs: ['eno2v0'], linkType: 'ether', numaNode: 1 })
  t.equal(vf0.iommuGroup, undefined, 'the group is read only for a vfio-bound device')
  t.match(vf1, { pfPci: '0000:01:00.0', vfIndex: 1, vendor: '15b3', device: '101e', driver: 'vfio-pci', iommuGroup: '42', netdevs: [] })
  t.equal(listPciDevices(s)[1].linkType, undefined, 'link types only when a selector needs them')

  for (const pci of ['0000:01:00.0', '0000:01:10.1', '0000:01:10.3']) fs.rmSync(path.join(root, 'bus/pci/devices', pci, 'uevent'))
  t.same(listPciDevices(s, { linkTypes: true }), fromUevent, 'without uevent files the attributes give the same answer')

  // a VF its PF no longer lists (teardown in progress) is still placed by its physfn link
  fs.rmSync(path.join(root, 'bus/pci/devices/0000:01:00.0/virtfn1'))
  t.match(listPciDevices(s)[2], { pfPci: '0000:01:00.0', pfName: 'eno2' })
  t.equal(listPciDevices(s)[2].vfIndex, undefined)
})

t.test('PCI discovery: a VF\'s RDMA, pkeys and ACPI index are read when the selectors need them', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sysfs-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  buildFakeSysfs(root, [{ pci: '0000:3b:00.0', name: 'ens1f0', vendor: '15b3', device: '1017', driver: 'mlx5_core', vfs: [{ pci: '0000:3b:00.2', vendor: '15b3', device: '1018', driver: 'mlx5_core', netdev: 'ens1f0v0' }] }])
  const vf = path.join(root, 'bus/pci/devices/0000:3b:00.2')
  fs.mkdirSync(path.join(vf, 'infiniband/mlx5_2/ports/1/pkeys'), { recursive: true })
  fs.writeFileSync(path.join(vf, 'infiniband/mlx5_2/ports/1/pkeys/0'), '0xFFFF\n')
  fs.writeFileSync(path.join(vf, 'infiniband/mlx5_2/ports/1/pkeys/1'), '0x0000\n')
  fs.writeFileSync(path.join(vf, 'acpi_index'), '7\n')
  fs.writeFileSync(path.join(root, 'class/net/ens1f0v0/type'), '32\n') // an InfiniBand port
  const s = new Sysfs(root)
  t.match(listPciDevices(s)[1], { rdma: false, pKeys: [] }, 'not read when no selector asks')
  t.equal(listPciDevices(s)[1].acpiIndex, undefined)
  t.match(listPciDevices(s, { rdma: true, acpiIndexes: true, linkTypes: true })[1], { rdma: true, pKeys: ['0xffff'], acpiIndex: '7' })
  t.match(listPciDevices(s, { rdma: true })[1], { rdma: true, pKeys: [] }, 'the partition key only of a function known to be InfiniBand')

  const resources = parseConfig(JSON.stringify({ resourceList: [
    { resourceName: 'a', selectors: { vendors: ['15b3'] } },
    { resourceName: 'b', selectors: [{ isRdma: true }, { acpiIndexes: ['7'] }] },
    { resourceName: 'c', selectors: [{ pKeys: ['0x8001'] }, { vdpaType: 'vhost' }, { ddpProfiles: ['GTP'] }] },
    { resourceName: 'd', deviceType: 'auxNetDevice', selectors: { auxTypes: ['sf'] } },
  ] }), 'intel.com')
  const none = { linkTypes: false, rdma: false, acpiIndexes: false, vdpa: false, auxiliary: false, ddp: false }
  t.same(discoveryNeeds(resources.slice(0, 2)), { ...none, rdma: true, acpiIndexes: true })
  t.same(discoveryNeeds(resources.slice(0, 1)), none)
  t.same(discoveryNeeds(resources.slice(2, 3)), { ...none, linkTypes: true, rdma: true, vdpa: true, ddp: true }, 'pKeys need the link type too')
  t.same(discoveryNeeds(resources.slice(3)), { ...none, auxiliary: true })
})
