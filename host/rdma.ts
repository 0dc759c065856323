// RDMA devices of a PCI function or an auxiliary device, as the kernel lays them out under the device's own
// sysfs directory: infiniband/<dev>, and the character devices' class entries infiniband_verbs/uverbsN and
// infiniband_mad/umadN, issmN, which the kernel parents to the same device (their `ibdev` names the RDMA
// device). /dev/infiniband/<entry> is the node of each.
import path = require('node:path')
import { sysfs as defaultSysfs, type Sysfs } from './sysfs'

export interface RdmaDevice {
  name: string // mlx5_2, irdma0, ...
  charDevices: string[] // /dev/infiniband/uverbsN, umadN, issmN
}

const CHAR_CLASSES = ['infiniband_verbs', 'infiniband_mad']

/** The RDMA devices under the sysfs directory `dir` (sysfs-relative); empty when it has none. */
export function rdmaDevicesAt(fs: Sysfs, dir: string): RdmaDevice[] {
  const names = fs.list(path.join(dir, 'infiniband'))
  if (names.length === 0) return []
  const entries = CHAR_CLASSES.flatMap((cls) => fs.list(path.join(dir, cls)).map((entry) => ({ cls, entry })))
  // one RDMA device per function is the rule: its char devices need no `ibdev` read
  const owner = (cls: string, entry: string) => (names.length === 1 ? names[0] : fs.read(path.join(dir, cls, entry, 'ibdev')))
  return names.map((name) => ({ name, charDevices: entries.filter((e) => owner(e.cls, e.entry) === name).map((e) => `/dev/infiniband/${e.entry}`) }))
}

/** The default partition key (index 0 of port 1) of the function's first RDMA device, as the Go plugin reads it. */
export function defaultPKey(fs: Sysfs, dir: string, rdma: RdmaDevice[]): string | undefined {
  if (rdma.length === 0) return undefined
  return fs.read(path.join(dir, 'infiniband', rdma[0].name, 'ports', '1', 'pkeys', '0'))?.toLowerCase()
}

/**
 * /dev/infiniband/rdma_cm, the connection manager node every RDMA device shares, when rdma_ucm provides it.
 * Asked of sysfs (its misc class entry), not of /dev: a container's /dev is a copy made when it started.
 */
export function rdmaCmNode(fs: Sysfs = defaultSysfs): string | undefined {
  return fs.exists('class/misc/rdma_cm') ? '/dev/infiniband/rdma_cm' : undefined
}
