// The attachment record: what CNI ADD saves at /var/lib/cni/sriov/<containerID>-<ifname> so that DEL, GC and
// the device plugin's reconciler can undo the attachment without the original config or netns. ADD writes it
// before its first change (state "adding": the VF's original state and what ADD is about to do) and again
// when it is done (state "added", with the result), so a crash at any point leaves enough to roll back.
import { bootId } from '../host/boot-id'
import type { VfState } from '../host/vf-state'
import type { Result } from '../protocol/result'

export const ATTACHMENT_FORMAT = 'sriov-ts/1'

/**
 * `adding` until ADD is done; `lost` when DEL could not find the VF netdev (an application moved it out of the
 * pod): DEL undid the rest, and whoever next undoes the record (a DEL, GC, the next ADD on the VF) brings the
 * netdev home once the kernel returns it to the host.
 */
export type AttachmentState = 'adding' | 'added' | 'lost'

export interface OriginalNetdev {
  mac: string
  mtu: number
  index?: number // ifindex on the host before ADD (the kernel keeps it across moves when it can)
  up?: boolean // admin state on the host before ADD
  parentDev?: string // the netdev's parent device (the VF's PCI address) where the kernel reports one: proves a link is the VF
  altnames?: string[] // alternative names before ADD (udev gives VFs some); absent in records of older versions
  kind?: string // its rtnetlink link type, "" for none (a VF's own netdev): a link a pod makes always has one; absent in records of older versions
}

export interface AttachmentRecord {
  format: typeof ATTACHMENT_FORMAT
  state?: AttachmentState // absent in records of earlier versions, which were written complete
  bootId?: string // the kernel's boot ID at ADD; absent in records of earlier versions (taken as this boot's)
  pid?: number // the ADD process, while the state is "adding"
  containerId: string
  ifname: string // CNI_IFNAME: the name inside the pod
  netns: string // CNI_NETNS at ADD
  netName: string
  cniVersion: string
  deviceID: string // VF PCI address
  pfName: string
  vfIndex: number
  dpdkMode: boolean // VF bound to vfio-pci/uio: configured on the PF, nothing moved
  hostIfName?: string // the VF netdev's name on the host before ADD (absent in DPDK mode)
  origNetdev?: OriginalNetdev // absent in DPDK mode
  origVf: VfState // as read from the PF before ADD's first change
  appliedVf: Partial<VfState> // what ADD sets on the PF (CHECK compares against this)
  netConf: Record<string, unknown> // the network config given to ADD (deviceID resolved): stdin for a later DEL
  ips: string[] // CIDRs assigned in the pod
  podMac?: string // the MAC ADD sets on the netdev: identifies it wherever the kernel puts it
  podMtu?: number // the MTU ADD sets on the netdev in the pod (the NAD's mtu)
  podIndex?: number // the netdev's ifindex in the pod once ADD is done: identifies it whatever the pod renames
  result: Result // what ADD returned (CHECK compares the pod against it)
  createdAt: string // ISO time
}

/**
 * `d` as toISOString writes it (UTC, milliseconds, `Z`), built from its UTC fields: toISOString's first call in
 * a process costs ~1 ms (V8 reads the time zone), a CNI call makes just that one.
 */
export function isoTime(d: Date): string {
  const p = (n: number, width = 2) => String(n).padStart(width, '0')
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}Z`
}

/**
 * True for an attachment made before the node last started: the reboot erased all it did in the kernel (the VF
 * config on the PF, the netdev in the pod), and only what it left on disk (the record, the mark, IPAM leases) is
 * still to undo. A record without a boot ID (an earlier version's, Go sriov-cni's) counts as this boot's.
 */
export function madeInEarlierBoot(rec: AttachmentRecord): boolean {
  return rec.bootId !== undefined && rec.bootId !== bootId()
}

/** True while an ADD has not finished (or was killed before it could). */
export function isUnfinished(rec: AttachmentRecord): boolean {
  return rec.state === 'adding'
}
