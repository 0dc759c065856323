// A fake sysfs tree laid out like the kernel's (relative symlinks included), for SRIOV_SYSFS_ROOT.
import fs from 'node:fs'
import path from 'node:path'

export interface FakeVf {
  pci: string
  vendor?: string
  device?: string
  driver?: string // ixgbevf, igbvf, vfio-pci, ...
  netdev?: string // omit for a DPDK-bound VF
  iommuGroup?: number
  rdma?: boolean // an RDMA device (infiniband/) with one port and its default pkey
}

export interface FakePf {
  pci: string
  name: string
  vendor?: string
  device?: string
  driver?: string
  numaNode?: number
  totalVfs?: number
  vfs: FakeVf[]
}

function link(target: string, at: string): void {
  fs.mkdirSync(path.dirname(at), { recursive: true })
  fs.rmSync(at, { force: true })
  fs.symlinkSync(path.relative(path.dirname(at), target), at)
}

function device(root: string, pci: string, attrs: Record<string, string>, driver?: string): string {
  const dir = path.join(root, 'devices/pci0000:00', pci)
  fs.mkdirSync(dir, { recursive: true })
  for (const [k, v] of Object.entries(attrs)) fs.writeFileSync(path.join(dir, k), `${v}\n`)
  // the kernel's PCI uevent: class without 0x, IDs in upper case, DRIVER only while bound
  const hexOf = (v: string) => v.replace(/^0x/, '').toUpperCase()
  const uevent = [...(driver ? [`DRIVER=${driver}`] : []), `PCI_CLASS=${hexOf(attrs.class).replace(/^0+(?=.)/, '')}`, `PCI_ID=${hexOf(attrs.vendor)}:${hexOf(attrs.device)}`, `PCI_SLOT_NAME=${pci}`]
  fs.writeFileSync(path.join(dir, 'uevent'), `${uevent.join('\n')}\n`)
  link(dir, path.join(root, 'bus/pci/devices', pci))
  if (driver) {
    fs.mkdirSync(path.join(root, 'bus/pci/drivers', driver), { recursive: true })
    link(path.join(root, 'bus/pci/drivers', driver), path.join(dir, 'driver'))
  }
  return dir
}

function netdev(root: string, devDir: string, name: string): void {
  fs.mkdirSync(path.join(devDir, 'net', name), { recursive: true })
  fs.writeFileSync(path.join(devDir, 'net', name, 'type'), '1\n') // ARPHRD_ETHER
  link(path.join(devDir, 'net', name), path.join(root, 'class/net', name))
  link(devDir, path.join(devDir, 'net', name, 'device'))
}

/** Writes PFs and their VFs under `root`. */
export function buildFakeSysfs(root: string, pfs: FakePf[]): void {
  for (const pf of pfs) {
    const pfDir = device(root, pf.pci, {
      vendor: `0x${pf.vendor ?? '8086'}`, device: `0x${pf.device ?? '1528'}`, class: '0x020000',
      numa_node: String(pf.numaNode ?? 0), sriov_totalvfs: String(pf.totalVfs ?? 64), sriov_numvfs: String(pf.vfs.length),
    }, pf.driver ?? 'ixgbe')
    netdev(root, pfDir, pf.name)
    pf.vfs.forEach((vf, i) => {
      const vfDir = device(root, vf.pci, {
        vendor: `0x${vf.vendor ?? '8086'}`, device: `0x${vf.device ?? '1515'}`, class: '0x020000', numa_node: String(pf.numaNode ?? 0), // a VF sits on its PF's bus, so on its NUMA node
      }, vf.driver ?? 'ixgbevf')
      link(pfDir, path.join(vfDir, 'physfn'))
      link(vfDir, path.join(pfDir, `virtfn${i}`))
      if (vf.netdev) netdev(root, vfDir, vf.netdev)
      if (vf.rdma) {
        fs.mkdirSync(path.join(vfDir, 'infiniband', `rdma${i}`, 'ports', '1', 'pkeys'), { recursive: true })
        fs.writeFileSync(path.join(vfDir, 'infiniband', `rdma${i}`, 'ports', '1', 'pkeys', '0'), '0xffff\n')
      }
      if (vf.iommuGroup !== undefined) {
        fs.mkdirSync(path.join(root, 'kernel/iommu_groups', String(vf.iommuGroup)), { recursive: true })
        link(path.join(root, 'kernel/iommu_groups', String(vf.iommuGroup)), path.join(vfDir, 'iommu_group'))
      }
    })
  }
}

/** The X540 layout users know: PF eno2 at 0000:01:00.0 with 8 VFs 8086:1515 (ixgbevf) at 01:10.1 ... 01:11.7. */
export function x540(pfName = 'eno2', netdevs: (i: number) => string | undefined = (i) => `eno2v${i}`): FakePf {
  const vfs: FakeVf[] = []
  for (let i = 0; i < 8; i++) {
    const fn = 1 + 2 * i // VF n sits at devfn 0x10.1 + 2n
    const pci = `0000:01:${(0x10 + (fn >> 3)).toString(16)}.${fn & 7}`
    const vf: FakeVf = { pci, vendor: '8086', device: '1515', driver: 'ixgbevf' }
    const nd = netdevs(i)
    if (nd) vf.netdev = nd
    vfs.push(vf)
  }
  return { pci: '0000:01:00.0', name: pfName, vendor: '8086', device: '1528', driver: 'ixgbe', numaNode: 0, totalVfs: 63, vfs }
}

/** The 2019 seed layout: 4 PFs at 0000:02:00.0-3 (enp2s0f0-3, i350-like igb 8086:1521), `vfs` igbvf VFs (8086:1520) each. */
export function fourPorts2019(vfs = 4, netdevs: (pf: number, vf: number) => string | undefined = (p, v) => `enp2s0f${p}v${v}`): FakePf[] {
  return [0, 1, 2, 3].map((p) => ({
    pci: `0000:02:00.${p}`, name: `enp2s0f${p}`, vendor: '8086', device: '1521', driver: 'igb', numaNode: 0, totalVfs: 7,
    vfs: Array.from({ length: vfs }, (_, v) => {
      const fn = p + 4 * v // the 4 PFs' VFs interleave on bus 02 from devfn 0x80
      const vf: FakeVf = { pci: `0000:02:${(0x10 + (fn >> 3)).toString(16)}.${fn & 7}`, vendor: '8086', device: '1520', driver: 'igbvf' }
      const nd = netdevs(p, v)
      if (nd) vf.netdev = nd
      return vf
    }),
  }))
}

/** A large node: `pfs` PFs x `vfs` VFs (8086:1515) at 0000:10:00.0 upwards, PFs alternating NUMA nodes. */
export function manyPfs(pfs = 16, vfs = 64, pfName: (p: number) => string = (p) => `bpf${p}`): FakePf[] {
  return Array.from({ length: pfs }, (_, p) => ({
    pci: `0000:${(p + 0x10).toString(16)}:00.0`, name: pfName(p), numaNode: p % 2, totalVfs: 64,
    vfs: Array.from({ length: vfs }, (_, v) => ({ pci: `0000:${(p + 0x10).toString(16)}:${(2 + (v >> 3)).toString(16).padStart(2, '0')}.${v & 7}`, netdev: `b${p}v${v}` })),
  }))
}

/** Adds VF number `index` to a PF already in the tree (what raising sriov_numvfs does). */
export function addVf(root: string, pf: FakePf, vf: FakeVf, index: number): void {
  const pfDir = path.join(root, 'devices/pci0000:00', pf.pci)
  const vfDir = device(root, vf.pci, { vendor: `0x${vf.vendor ?? '8086'}`, device: `0x${vf.device ?? '1515'}`, class: '0x020000', numa_node: String(pf.numaNode ?? 0) }, vf.driver ?? 'ixgbevf')
  link(pfDir, path.join(vfDir, 'physfn'))
  link(vfDir, path.join(pfDir, `virtfn${index}`))
  if (vf.netdev) netdev(root, vfDir, vf.netdev)
  fs.writeFileSync(path.join(pfDir, 'sriov_numvfs'), `${index + 1}\n`)
}
