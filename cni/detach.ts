// Undoing an attachment from its record (ours, or one Go sriov-cni wrote before the node was upgraded): the
// undo steps of the attachment in reverse. DEL, GC and the reclaim of a VF all come through here.
import type { VfConfigurator } from '../host/vf-config'
import { resolveVf } from '../host/vf-device'
import type { CniEnv } from '../protocol/env'
import { madeInEarlierBoot, type AttachmentRecord } from '../state/attachment'
import { fromSriovCniRecord } from '../state/sriov-cni-record'
import type { StateStore, StoredAttachment } from '../state/store'
import { attachmentSteps } from './attachment'
import { log } from './log'
import { undoSteps } from './steps'

export async function toRecord(stored: StoredAttachment, store: StateStore, env: Pick<CniEnv, 'netns'>): Promise<AttachmentRecord> {
  if (stored.kind === 'ours') return stored.record
  const pci = String(stored.raw.deviceID ?? '').toLowerCase()
  let dpdk = false
  try {
    dpdk = resolveVf(pci).dpdk // sriov-cni does not save DPDK mode: the driver tells
  } catch {
    /* VF gone: treat as a netdev VF; the netdev steps find nothing and pass */
  }
  const netns = env.netns || (await store.allocatedTo(pci)) || ''
  return fromSriovCniRecord(stored.raw, stored.containerId, stored.ifname, netns, dpdk)
}

/**
 * Every undo step runs; when one fails the record stays (so a retry can finish) and the failures are thrown. An
 * attachment made before the node restarted has only its on-disk part undone: the VF and the netdev were reset
 * by the reboot, and "restoring" what they were then would undo what was set since (by the next pod, or at boot).
 */
export async function detach(rec: AttachmentRecord, store: StateStore, env: CniEnv, vfc: VfConfigurator): Promise<void> {
  const earlier = madeInEarlierBoot(rec)
  if (earlier) log('info', 'the attachment was made before the node restarted: releasing its leases and record, leaving the VF and its netdev as they are', { deviceID: rec.deviceID, attachment: { containerId: rec.containerId, ifname: rec.ifname, bootId: rec.bootId } })
  const steps = attachmentSteps(rec).filter((s) => !earlier || s.onDisk)
  const failures = await undoSteps(steps, { rec, store, vfc, env })
  if (failures.length) throw new Error(`could not undo the attachment of VF ${rec.deviceID} completely (${failures.join('; ')}); its record stays for a retry`)
}
