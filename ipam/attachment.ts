// The attachment record: what CNI ADD saves at /var/lib/cni/sriov/<containerID>-<ifname> so that DEL, GC and
// the device plugin's reconciler can undo the attachment without the original config or netns.
import type { VfState } from '../host/vf-state'
import type { Result } from '../protocol/result'

export const ATTACHMENT_FORMAT = 'sriov-ts/1'

export interface AttachmentRecord {
  format: typeof ATTACHMENT_FORMAT
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
  origNetdev?: { mac: string; mtu: number } // absent in DPDK mode
  origVf: VfState // as read from the PF before ADD
  appliedVf: Partial<VfState> // what ADD set on the PF (CHECK compares against this)
  netConf: Record<string, unknown> // the network config given to ADD (deviceID resolved): stdin for a later DEL
  ips: string[] // CIDRs assigned in the pod
  podMac?: string // the netdev's MAC in the pod: identifies it if the kernel hands it back to the host
  result: Result // what ADD returned (CHECK compares the pod against it)
  createdAt: string // ISO time
}
