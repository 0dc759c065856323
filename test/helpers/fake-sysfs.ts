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

// ---- what sits on PCI functions: RDMA devices, vDPA devices, sub-functions, no-IOMMU vfio groups ----

const devicesDir = (root: string, pci: string) => path.join(root, 'devices/pci0000:00', pci)

function attr(file: string, value: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, `${value}\n`)
}

/**
 * An RDMA device `name` on the device directory `dir` (a PCI function or an SF), as mlx5_ib and ib_uverbs /
 * ib_umad lay it out: infiniband/<name> with port 1's pkeys, and the char devices' class entries
 * infiniband_verbs/uverbs<n>, infiniband_mad/umad<n> and issm<n> under the same device, each naming it in `ibdev`.
 */
export function addRdma(root: string, dir: string, name: string, n: number, pkeys: string[] = ['0xffff', '0x0000']): void {
  const ib = path.join(dir, 'infiniband', name)
  attr(path.join(ib, 'node_type'), '1: CA')
  pkeys.forEach((k, i) => attr(path.join(ib, 'ports/1/pkeys', String(i)), k))
  attr(path.join(ib, 'ports/1/state'), '4: ACTIVE')
  link(ib, path.join(root, 'class/infiniband', name))
  for (const [cls, entry, major, minor] of [['infiniband_verbs', `uverbs${n}`, 231, 192 + n], ['infiniband_mad', `umad${n}`, 231, n], ['infiniband_mad', `issm${n}`, 231, 64 + n]] as const) {
    const at = path.join(dir, cls, entry)
    attr(path.join(at, 'ibdev'), name)
    attr(path.join(at, 'dev'), `${major}:${minor}`)
    link(at, path.join(root, 'class', cls, entry))
  }
}

/** The node-wide RDMA connection manager (rdma_ucm loaded): its misc class device, /dev/infiniband/rdma_cm. */
export function addRdmaCm(root: string): void {
  attr(path.join(root, 'devices/virtual/misc/rdma_cm/dev'), '10:58')
  link(path.join(root, 'devices/virtual/misc/rdma_cm'), path.join(root, 'class/misc/rdma_cm'))
}

/** Makes a netdev an IPoIB one (ARPHRD_INFINIBAND), as on an InfiniBand port. */
export function setInfiniband(root: string, netdev: string): void {
  fs.writeFileSync(path.join(root, 'class/net', netdev, 'type'), '32\n')
}

/**
 * A vDPA device `vdpa<n>` created on PCI function `pci` (`vdpa dev add mgmtdev pci/<pci> ...`), bound to
 * `driver`: vhost_vdpa gives it a vhost-vdpa-<n> char device, virtio_vdpa a virtio device beside it.
 */
export function addVdpa(root: string, pci: string, n: number, driver: 'vhost_vdpa' | 'virtio_vdpa' | undefined): void {
  const dir = path.join(devicesDir(root, pci), `vdpa${n}`)
  fs.mkdirSync(dir, { recursive: true })
  link(dir, path.join(root, 'bus/vdpa/devices', `vdpa${n}`))
  if (driver) {
    fs.mkdirSync(path.join(root, 'bus/vdpa/drivers', driver), { recursive: true })
    link(path.join(root, 'bus/vdpa/drivers', driver), path.join(dir, 'driver'))
  }
  if (driver === 'vhost_vdpa') {
    attr(path.join(dir, `vhost-vdpa-${n}`, 'dev'), `511:${n}`)
    link(path.join(dir, `vhost-vdpa-${n}`), path.join(root, 'class/vhost-vdpa', `vhost-vdpa-${n}`))
  }
  if (driver === 'virtio_vdpa') fs.mkdirSync(path.join(devicesDir(root, pci), `virtio${n}`), { recursive: true })
}

/**
 * A scalable function on PF `pfPci` (`devlink port add pci/<pf> flavour pcisf sfnum <sfnum>` then activated):
 * mlx5_core.sf.<id> on the auxiliary bus under the PF, with its sfnum, netdev and the auxiliary devices
 * mlx5_core binds on it. Returns its sysfs directory.
 */
export function addSf(root: string, pfPci: string, id: number, sfnum: number, ifname?: string): string {
  const name = `mlx5_core.sf.${id}`
  const dir = path.join(devicesDir(root, pfPci), name)
  attr(path.join(dir, 'sfnum'), String(sfnum))
  link(dir, path.join(root, 'bus/auxiliary/devices', name))
  fs.mkdirSync(path.join(root, 'bus/auxiliary/drivers/mlx5_core.sf'), { recursive: true })
  link(path.join(root, 'bus/auxiliary/drivers/mlx5_core.sf'), path.join(dir, 'driver'))
  // the SF's own auxiliary devices (no sfnum): nested below it, never network devices themselves
  const eth = path.join(dir, `mlx5_core.eth.${id + 2}`)
  fs.mkdirSync(eth, { recursive: true })
  link(eth, path.join(root, 'bus/auxiliary/devices', `mlx5_core.eth.${id + 2}`))
  if (ifname) netdev(root, dir, ifname)
  return dir
}

/** Turns a vfio group into a no-IOMMU one, as vfio does for a device without an IOMMU (enable_unsafe_noiommu_mode). */
export function setNoIommu(root: string, group: number): void {
  attr(path.join(root, 'kernel/iommu_groups', String(group), 'name'), 'vfio-noiommu')
}

/**
 * A ConnectX-5 port: PF ens1f0 at 0000:3b:00.0 (15b3:1017, mlx5_core) with `vfs` VFs (15b3:1018, mlx5_core)
 * at 0000:3b:00.2 upwards, each netdev ens1f0v<i>; addRdma adds the RDMA devices (mlx5_0 the PF's, mlx5_<i+2> VF i's).
 */
export function connectx5(vfs = 4): FakePf {
  return {
    pci: '0000:3b:00.0', name: 'ens1f0', vendor: '15b3', device: '1017', driver: 'mlx5_core', numaNode: 0, totalVfs: 8,
    vfs: Array.from({ length: vfs }, (_, i) => ({ pci: `0000:3b:0${Math.floor((i + 2) / 8)}.${(i + 2) % 8}`, vendor: '15b3', device: '1018', driver: 'mlx5_core', netdev: `ens1f0v${i}` })),
  }
}

/** The sysfs directory of a PCI function in a fake tree. */
export function pciDir(root: string, pci: string): string {
  return devicesDir(root, pci)
}
