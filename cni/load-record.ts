// An attachment's own record as DEL and ADD read it under the VF lock: a damaged one is set aside, so that it
// neither fails every later verb of the attachment nor is taken for "no record" and overwritten unseen.
import { StateStore, UnreadableRecord, type StoredAttachment } from '../state/store'
import { log } from './log'

/**
 * The record; one that cannot be read is set aside and the verb goes on as without one (DEL: the IPAM release,
 * the mark): failing would fail every DEL of the pod forever, and what the record held is lost either way. A
 * ForeignRecord (another attachment's, under the same file name) is thrown for the caller to judge.
 */
export async function loadOrSetAside(store: StateStore, containerId: string, ifname: string, verb: 'ADD' | 'DEL'): Promise<StoredAttachment | undefined> {
  try {
    return await store.loadAttachment(containerId, ifname)
  } catch (e) {
    if (!(e instanceof UnreadableRecord)) throw e
    if (e.empty) {
      // nothing in it to keep for a look: it belongs to an earlier boot, whose kernel state went with it
      await store.removeAttachment(containerId, ifname)
      log('warning', `the attachment record is empty (a power cut before it was written out): removed, and ${verb} goes on without it`, { file: e.file })
      return undefined
    }
    const aside = await store.setAsideAttachment(containerId, ifname)
    log('error', `the attachment record cannot be read (a power cut before it was written out, a damaged disk?): set aside, and ${verb} goes on without it; the VF may need a look`, { setAside: aside, err: e.message })
    return undefined
  }
}
