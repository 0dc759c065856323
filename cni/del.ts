// DEL: undo the attachment from its record. Idempotent; works without the pod namespace and for records
// Go sriov-cni wrote before the node was upgraded. The record is read again under the VF's lock: a copy read
// before it may be stale (a duplicate DEL racing the next pod's ADD on the same VF).
import { vfConfigurator } from '../host/vf-config'
import type { PluginContext } from '../protocol/skel'
import { deviceOf, ForeignRecord, StateStore, UnreadableRecord } from '../state/store'
import { deviceIdOf } from './config'
import { detach, toRecord } from './detach'
import { ipamDel } from './ipam'
import { loadOrSetAside } from './load-record'
import { codeCacheUse } from './code-cache'
import { log } from './log'

export async function cmdDel({ env, conf }: PluginContext): Promise<void> {
  const store = new StateStore()
  await store.withAttachmentLock(env.containerId, env.ifname, async () => {
    const first = await store.loadAttachment(env.containerId, env.ifname).catch((e) => {
      if (e instanceof UnreadableRecord || e instanceof ForeignRecord) return undefined // dealt with under the VF lock below
      throw e
    })
    const pci = first ? deviceOf(first) : deviceIdOf(conf)
    const undo = async () => {
      const stored = await loadOrSetAside(store, env.containerId, env.ifname, 'DEL').catch((e) => {
        if (!(e instanceof ForeignRecord)) throw e
        // another attachment's, under the same file name: this one has none (its ADD was refused), and that one keeps it
        log('info', 'the attachment record file holds another attachment, whose file name is the same: left to it', { file: e.file, owner: e.owner })
        return undefined
      })
      if (!stored) {
        // nothing recorded: ADD never changed anything (or DEL is repeated); the IPAM release is still owed,
        // and a mark an ADD killed between its two writes left goes
        await ipamDel({ ...conf.raw }, env)
        if (pci) await store.clearOrphanMark(pci)
        log('debug', 'DEL: no attachment record, nothing else to undo')
        return
      }
      await detach(await toRecord(stored, store, env, { conf: conf.raw, own: true }), store, env, vfConfigurator())
    }
    // the VF lock also when there is no record: it removes a lock file an ADD killed early left behind
    await (pci ? store.withVfLock(pci, undo) : undo())
  })
  // lock and temp files of processes killed on this node, whichever attachment they were for
  await store.sweep().catch((e) => log('warning', 'could not sweep the state directory', { err: (e as Error).message }))
  log('debug', 'DEL done', { codeCache: codeCacheUse() })
}
