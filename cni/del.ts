// DEL: undo the attachment from its record. Idempotent; works without the pod namespace and for records
// Go sriov-cni wrote before the node was upgraded. The record is read again under the VF's lock: a copy read
// before it may be stale (a duplicate DEL racing the next pod's ADD on the same VF).
import { vfConfigurator } from '../host/vf-config'
import type { PluginContext } from '../protocol/skel'
import { deviceOf, StateStore, UnreadableRecord, type StoredAttachment } from '../state/store'
import { deviceIdOf } from './config'
import { detach, toRecord } from './detach'
import { ipamDel } from './ipam'
import { codeCacheUse } from './code-cache'
import { log } from './log'

export async function cmdDel({ env, conf }: PluginContext): Promise<void> {
  const store = new StateStore()
  await store.withAttachmentLock(env.containerId, env.ifname, async () => {
    const first = await store.loadAttachment(env.containerId, env.ifname).catch((e) => {
      if (e instanceof UnreadableRecord) return undefined // dealt with under the VF lock below
      throw e
    })
    const pci = first ? deviceOf(first) : deviceIdOf(conf)
    const undo = async () => {
      const stored = await loadOrSetAside(store, env.containerId, env.ifname)
      if (!stored) {
        // nothing recorded: ADD never changed anything (or DEL is repeated); the IPAM release is still owed,
        // and a mark an ADD killed between its two writes left goes
        await ipamDel({ ...conf.raw }, env)
        if (pci) await store.clearOrphanMark(pci)
        log('debug', 'DEL: no attachment record, nothing else to undo')
        return
      }
      await detach(await toRecord(stored, store, env), store, env, vfConfigurator())
    }
    // the VF lock also when there is no record: it removes a lock file an ADD killed early left behind
    await (pci ? store.withVfLock(pci, undo) : undo())
  })
  // lock and temp files of processes killed on this node, whichever attachment they were for
  await store.sweep().catch((e) => log('warning', 'could not sweep the state directory', { err: (e as Error).message }))
  log('debug', 'DEL done', { codeCache: codeCacheUse() })
}

/**
 * The record; one that cannot be read is set aside and DEL goes on as without one (the IPAM release, the mark):
 * failing would fail every DEL of the pod forever, and what the record held is lost either way.
 */
async function loadOrSetAside(store: StateStore, containerId: string, ifname: string): Promise<StoredAttachment | undefined> {
  try {
    return await store.loadAttachment(containerId, ifname)
  } catch (e) {
    if (!(e instanceof UnreadableRecord)) throw e
    if (e.empty) {
      // nothing in it to keep for a look: it belongs to an earlier boot, whose kernel state went with it
      await store.removeAttachment(containerId, ifname)
      log('warning', 'the attachment record is empty (a power cut before it was written out): removed, and DEL goes on without it', { file: e.file })
      return undefined
    }
    const aside = await store.setAsideAttachment(containerId, ifname)
    log('error', 'the attachment record cannot be read (a power cut before it was written out, a damaged disk?): set aside, and DEL goes on without it; the VF may need a look', { setAside: aside, err: e.message })
    return undefined
  }
}
