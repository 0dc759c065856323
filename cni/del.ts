// DEL: undo the attachment from its record. Idempotent; works without the pod namespace and for records
// Go sriov-cni wrote before the node was upgraded.
import { resolveVf } from '../host/vf-device'
import type { AttachmentRecord } from '../state/attachment'
import { StateStore, type StoredAttachment } from '../state/store'
import type { CniEnv } from '../protocol/env'
import type { PluginContext } from '../protocol/skel'
import { ipamDel } from './ipam'
import { fromSriovCniRecord } from '../state/sriov-cni-record'
import { log } from './log'
import { releaseAttachment } from './release'

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

export async function cmdDel({ env, conf }: PluginContext): Promise<void> {
  const store = new StateStore()
  const stored = await store.loadAttachment(env.containerId, env.ifname)
  if (!stored) {
    // nothing recorded (DEL repeated, or ADD never completed): IPAM release is still owed and idempotent
    if (conf.ipam) await ipamDel({ ...conf.raw }, env)
    log('debug', 'DEL: no attachment record, nothing else to undo', { containerId: env.containerId, ifname: env.ifname })
    return
  }
  const rec = await toRecord(stored, store, env)
  await store.withVfLock(rec.deviceID, () => releaseAttachment(rec, store, env))
}
