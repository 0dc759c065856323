// Before an ADD reads a VF's original state, the VF must carry no other attachment's changes: under the VF's
// lock, whatever an earlier attachment left on it is undone (a dead pod's, a killed ADD's, or this same
// attachment's earlier ADD), and a VF a live pod still holds is refused.
import { netnsExists } from '../host/netns'
import type { VfConfigurator } from '../host/vf-config'
import type { CniEnv } from '../protocol/env'
import { CniError, ErrorCode } from '../protocol/errors'
import { isUnfinished, madeInEarlierBoot } from '../state/attachment'
import type { StateStore } from '../state/store'
import { detach, toRecord, type GivenConfig } from './detach'
import { log } from './log'

/** Returns whether an earlier attachment was undone (its netdev may have come back under another name). */
export async function claimVf(store: StateStore, pci: string, env: CniEnv, vfc: VfConfigurator, given: GivenConfig): Promise<boolean> {
  const mark = await store.markOf(pci)
  if (mark === undefined) return false // a record is never written without its mark: nothing to look for
  const stored = await store.attachmentsOf(pci)
  // a live pod the mark names that no record accounts for (Go sriov-cni's records do not say their namespace);
  // a mark with no record at all is a killed ADD's, which had changed nothing yet (Go writes its mark last)
  if (mark && stored.length && netnsExists(mark) && !(await Promise.all(stored.map((s) => toRecord(s, store, { netns: '' })))).some((r) => r.netns === mark)) {
    throw new CniError(ErrorCode.InvalidConfig, `VF ${pci} is already allocated to network namespace ${mark}`)
  }
  for (const s of stored) {
    const rec = await toRecord(s, store, { netns: '' }, given)
    const same = rec.containerId === env.containerId && rec.ifname === env.ifname
    const alive = netnsExists(rec.netns)
    // an unfinished record here is a killed ADD's: a running one would hold the VF lock we hold
    // a finished attachment in a live namespace is never taken over, whoever asks (even from the same pod)
    const why = madeInEarlierBoot(rec) ? 'an attachment made before the node restarted' : same ? 'an earlier ADD of this attachment' : isUnfinished(rec) ? 'an ADD that did not finish' : rec.state === 'lost' ? 'an attachment whose netdev left its pod' : !alive ? 'a pod whose network namespace is gone' : undefined
    if (!why) {
      throw new CniError(ErrorCode.InvalidConfig, `VF ${pci} is already allocated to network namespace ${rec.netns} (container ${rec.containerId}, interface ${rec.ifname})`)
    }
    log('info', `reclaiming VF ${pci} from ${why}`, { deviceID: pci, reclaimed: { containerId: rec.containerId, ifname: rec.ifname, netns: rec.netns } })
    await detach(rec, store, env, vfc)
    // its killed ADD left its lock file (our own attachment's we hold); one that will not go waits for a sweep
    if (!same) await store.removeAttachmentLock(rec.containerId, rec.ifname).catch(() => undefined)
  }
  if (!stored.length) await store.clearOrphanMark(pci)
  return stored.length > 0
}
