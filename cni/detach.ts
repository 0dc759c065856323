// Undoing an attachment from its record (ours, or one Go sriov-cni wrote before the node was upgraded): the
// undo steps of the attachment in reverse. DEL, GC and the reclaim of a VF all come through here.
import type { VfConfigurator } from '../host/vf-config'
import { netnsExists } from '../host/netns'
import { resolveVf, VfLookupError, type VfDevice } from '../host/vf-device'
import { vfNetdevOnHost } from '../host/vf-netdev-on-host'
import type { CniEnv } from '../protocol/env'
import { madeInEarlierBoot, type AttachmentRecord } from '../state/attachment'
import { fromSriovCniRecord } from '../state/sriov-cni-record'
import type { StateStore, StoredAttachment } from '../state/store'
import { attachmentSteps } from './attachment'
import { log } from './log'
import { undoSteps } from './steps'

/**
 * The config a verb was given. A Go sriov-cni record keeps only its IPAM plugin's type (Go's types.IPAM), so
 * its leases are released with this config's IPAM section, as sriov-cni's DEL releases them with stdin's: DEL's
 * always (`own`: it is the attachment's own config), another verb's when it is the same network's.
 */
export interface GivenConfig {
  conf: Record<string, unknown>
  own: boolean
}

export async function toRecord(stored: StoredAttachment, store: StateStore, env: Pick<CniEnv, 'netns'>, given?: GivenConfig): Promise<AttachmentRecord> {
  if (stored.kind === 'ours') return stored.record
  const pci = String(stored.raw.deviceID ?? '').toLowerCase()
  let dpdk = false
  try {
    dpdk = resolveVf(pci).dpdk // sriov-cni does not save DPDK mode: the driver tells
  } catch {
    /* VF gone: treat as a netdev VF; the netdev steps find nothing and pass */
  }
  // sriov-cni does not save the namespace: the VF's mark names it when the record is the VF's only one
  let netns = env.netns
  if (!netns) {
    const mark = await store.allocatedTo(pci)
    if (mark && (await store.attachmentsOf(pci)).length === 1) netns = mark
  }
  const rec = fromSriovCniRecord(stored.raw, stored.containerId, stored.ifname, netns, dpdk)
  if (given && (given.own || given.conf.name === rec.netName)) {
    const { ipam: _recorded, ...rest } = rec.netConf
    rec.netConf = given.conf.ipam === undefined ? rest : { ...rest, ipam: given.conf.ipam }
  }
  return rec
}

/** Who holds a VF now: a pod's namespace, and its attachment when a record of ours names it. */
interface Holder {
  netns: string
  attachment?: { containerId: string; ifname: string }
}

/**
 * Who holds `rec`'s VF now, when it is not `rec`'s attachment: the pod whose live namespace the VF's mark names
 * (whoever wrote it, we or Go sriov-cni after a downgrade), or an attachment of ours of this boot (a record of Go
 * sriov-cni from before its allocation marks, or one whose DEL was killed between the mark and the record, does
 * not keep the next ADD off its VF). Its late DEL then must not undo what that pod has.
 */
async function heldByAnother(rec: AttachmentRecord, store: StateStore, released: (s: StoredAttachment) => boolean): Promise<Holder | undefined> {
  const mark = await store.allocatedTo(rec.deviceID)
  if (mark !== undefined && mark !== rec.netns && netnsExists(mark)) return { netns: mark }
  // the mark is rec's (ours hold theirs for as long as they exist; Go's, while their pod lives): no other holds
  // it, and DEL need not read every record on the node to find out
  if (mark !== undefined && mark === rec.netns && (rec.bootId !== undefined || netnsExists(mark))) return undefined
  // Go sriov-cni before v2.7 wrote no marks. With another of its records on the VF, a netdev that is neither on
  // the host nor in this record's namespace (gone: the kernel would have returned it) is in the pod that holds
  // the VF now, whichever record is that pod's; not one the same GC releases too (then none says which holds it)
  if (mark === undefined && !netnsExists(rec.netns)) {
    const others = (await store.attachmentsOf(rec.deviceID)).filter((s) => s.kind === 'sriov-cni' && (s.containerId !== rec.containerId || s.ifname !== rec.ifname) && !released(s))
    if (others.length && !(await vfNetdevOnHost(rec.deviceID, [rec.hostIfName]))) return { netns: 'the namespace its netdev is in' }
  }
  for (const s of await store.attachmentsOf(rec.deviceID)) {
    if (s.kind !== 'ours' || madeInEarlierBoot(s.record)) continue
    const { containerId, ifname, netns } = s.record
    if (containerId !== rec.containerId || ifname !== rec.ifname) return { netns, attachment: { containerId, ifname } }
  }
  return undefined
}

/**
 * Every undo step runs; when one fails the record stays (so a retry can finish) and the failures are thrown. An
 * attachment made before the node restarted has only its on-disk part undone: the VF and the netdev were reset
 * by the reboot, and "restoring" what they were then would undo what was set since (by the next pod, or at boot).
 */
export async function detach(recorded: AttachmentRecord, store: StateStore, env: CniEnv, vfc: VfConfigurator, released: (s: StoredAttachment) => boolean = () => false): Promise<void> {
  const { rec, gone, vf } = onItsVf(recorded)
  const attachment = { containerId: rec.containerId, ifname: rec.ifname }
  if (vf && (rec.pfName !== recorded.pfName || rec.vfIndex !== recorded.vfIndex)) log('warning', `the record names PF ${JSON.stringify(recorded.pfName)} VF ${recorded.vfIndex}, but ${rec.deviceID} is VF ${vf.vfIndex} of ${vf.pfName}: undoing on ${rec.deviceID}`, { deviceID: rec.deviceID, attachment })
  if (vf && rec.dpdkMode && !vf.dpdk && vf.driver) log('warning', `the record says DPDK mode, but ${rec.deviceID} is bound to ${vf.driver}: a netdev of it in the pod is left there`, { deviceID: rec.deviceID, attachment })
  // a VF that no longer exists has no config on its PF and no netdev left to undo; the record's PF and index
  // would name whatever VF has them now (another pod's, if the record's PCI address is damaged)
  if (gone) log('warning', `VF ${rec.deviceID} does not exist (any more): releasing the attachment's leases and record only`, { deviceID: rec.deviceID, attachment })
  const earlier = madeInEarlierBoot(rec) || gone
  const holder = earlier ? undefined : await heldByAnother(rec, store, released)
  if (earlier && !gone) log('info', 'the attachment was made before the node restarted: releasing its leases and record, leaving the VF and its netdev as they are', { deviceID: rec.deviceID, attachment: { ...attachment, bootId: rec.bootId } })
  if (holder) log('warning', `VF ${rec.deviceID} serves another attachment now: releasing this one's leases and record, leaving the VF and its netdev to that one`, { deviceID: rec.deviceID, attachment, holder })
  if (!earlier && !holder && !rec.dpdkMode && !rec.hostIfName) log('warning', "the record does not name the VF netdev's host name (a Go sriov-cni record without HostIFName): the netdev is left where it is", { deviceID: rec.deviceID, attachment })
  const steps = attachmentSteps(rec).filter((s) => !(earlier || holder) || s.onDisk)
  const failures = await undoSteps(steps, { rec, store, vfc, env, markNotOurs: !!holder })
  if (failures.length) throw new Error(`could not undo the attachment of VF ${rec.deviceID} completely (${failures.join('; ')}); its record stays for a retry`)
}

/**
 * `rec` with the PF and VF index sysfs gives its VF now. The PCI address is the VF's identity (its mark and lock
 * go by it): a PF may have been renamed since ADD (udev, a new kernel), and a record whose VF index is another
 * VF's (a damaged or hand-edited one) would have DEL reset that VF, another pod's. A VF that is gone keeps what
 * the record says. `vf`: the VF as sysfs has it, for the caller to say what differs.
 */
export function onItsVf(rec: AttachmentRecord): { rec: AttachmentRecord; gone?: boolean; vf?: VfDevice } {
  let vf
  try {
    vf = resolveVf(rec.deviceID)
  } catch (e) {
    // only a PCI device that is not there is gone; one that is there but unreadable keeps what the record says
    return { rec, gone: e instanceof VfLookupError && /not found/.test(e.message) }
  }
  if (vf.pfName === rec.pfName && vf.vfIndex === rec.vfIndex) return { rec, vf }
  return { rec: { ...rec, pfName: vf.pfName, vfIndex: vf.vfIndex }, vf }
}
