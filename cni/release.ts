// Undoing an attachment from its record: VF config back on the PF, netdev back on the host under its
// original name, MAC and MTU, IPs released, records removed. Used by DEL, GC and stale-allocation reclaim.
import { closeRtnl, linkByName, openRtnl } from '../host/link'
import { Netns, netnsExists } from '../host/netns'
import { pciOfNetdev, vfNetdev } from '../host/vf-device'
import { vfConfigurator, type VfConfigurator } from '../host/vf-config'
import type { VfState } from '../host/vf-state'
import type { AttachmentRecord } from '../state/attachment'
import type { StateStore } from '../state/store'
import type { CniEnv } from '../protocol/env'
import { ipamDel } from './ipam'
import { log } from './log'
import { returnToHost } from './vf-netdev'

/** The original values of the fields ADD changed. */
export function originalOf(orig: VfState, applied: Partial<VfState>): Partial<VfState> {
  const out: Partial<VfState> = {}
  for (const k of Object.keys(applied) as (keyof VfState)[]) (out as Record<string, unknown>)[k] = orig[k]
  return out
}

export async function restoreVf(vfc: VfConfigurator, rec: Pick<AttachmentRecord, 'pfName' | 'vfIndex' | 'origVf' | 'appliedVf'>): Promise<void> {
  const back = originalOf(rec.origVf, rec.appliedVf)
  if (Object.keys(back).length) await vfc.apply(rec.pfName, rec.vfIndex, back)
}

/** Finds the VF netdev wherever it is now and brings it home; true when it is on the host afterwards. */
export async function returnNetdev(rec: AttachmentRecord): Promise<boolean> {
  if (rec.dpdkMode || !rec.hostIfName) return true
  const mac = rec.origNetdev?.mac
  const mtu = rec.origNetdev?.mtu
  if (netnsExists(rec.netns)) {
    const pod = Netns.open(rec.netns)
    try {
      if (await returnToHost(pod, rec.ifname, rec.hostIfName, mac, mtu)) return true
    } finally {
      pod.close()
    }
  }
  // the pod namespace is gone: the kernel returned the VF to the host, usually under its pod name
  const host = openRtnl()
  try {
    if (await linkByName(host, rec.hostIfName)) return true
    for (const name of new Set([rec.ifname, vfNetdev(rec.deviceID)].filter((n): n is string => !!n))) {
      const link = await linkByName(host, name)
      if (!link) continue
      if (pciOfNetdev(name) === rec.deviceID || (rec.podMac && link.mac === rec.podMac)) {
        return returnToHost(undefined, name, rec.hostIfName, mac, mtu)
      }
    }
  } finally {
    closeRtnl(host)
  }
  log('warning', 'VF netdev not found in the pod or on the host', { deviceID: rec.deviceID, ifname: rec.ifname })
  return false
}

/** Full undo of an attachment; every step is attempted, the first error is reported after all ran. */
export async function releaseAttachment(rec: AttachmentRecord, store: StateStore, env: CniEnv, vfc: VfConfigurator = vfConfigurator()): Promise<void> {
  const errors: Error[] = []
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn()
    } catch (e) {
      errors.push(new Error(`${what}: ${(e as Error).message}`))
    }
  }
  await attempt('releasing IPs', () => ipamDel(rec.netConf, { ...env, containerId: rec.containerId, ifname: rec.ifname, netns: netnsExists(rec.netns) ? rec.netns : '' }))
  // the PF lets go of the pod MAC first: some VFs (igb) refuse their own MAC change until it does
  await attempt('restoring VF config on the PF', () => restoreVf(vfc, rec))
  await attempt('returning the VF netdev to the host', () => returnNetdev(rec))
  // on any failure the record stays, so the runtime's retry of DEL can finish the job
  if (errors.length) throw errors[0]
  await store.removeAttachment(rec.containerId, rec.ifname)
  if ((await store.allocatedTo(rec.deviceID)) === rec.netns) await store.clearAllocated(rec.deviceID)
}
