// GC (spec 1.1): undo every attachment of this network that the runtime no longer lists, finished or not,
// remove the lock and temp files of killed processes, then let IPAM drop leases with the same list.
// Continues past errors and reports them all.
import { vfConfigurator } from '../host/vf-config'
import type { PluginContext } from '../protocol/skel'
import { validAttachments } from '../protocol/skel'
import { StateStore, type StoredAttachment } from '../state/store'
import { detach, toRecord } from './detach'
import { ipamGc } from './ipam'
import { log } from './log'

export async function cmdGc({ env, conf }: PluginContext): Promise<void> {
  const valid = validAttachments(conf) // read once: the same list goes to IPAM
  const keep = new Set(valid.map((a) => `${a.containerID}\n${a.ifname}`))
  const store = new StateStore()
  // a Go sriov-cni record's ids are read from its file name, which may split two ways: a listed attachment
  // whose record file it is keeps it, however it split
  const keepFiles = new Set(valid.map((a) => store.recordFileName(a.containerID, a.ifname)))
  const vfc = vfConfigurator()
  const errors: string[] = []
  // a damaged record names no network for sure: left to its attachment's DEL, which sets it aside
  const unreadable = (file: string, why: string) => log('warning', 'GC passed over an attachment record it cannot read; its DEL sets it aside', { file, err: why })
  // a Go record this GC also releases holds nothing another one could be told apart from
  const releasedToo = (s: StoredAttachment) => s.kind === 'sriov-cni' && s.raw.name === conf.name && !keep.has(`${s.containerId}\n${s.ifname}`) && !keepFiles.has(store.recordFileName(s.containerId, s.ifname))
  for (const listed of await store.listAttachments(unreadable)) {
    const first = await toRecord(listed, store, { netns: '' })
    if (first.netName !== conf.name || keep.has(`${first.containerId}\n${first.ifname}`)) continue
    if (listed.kind === 'sriov-cni' && keepFiles.has(store.recordFileName(first.containerId, first.ifname))) continue
    try {
      await store.withAttachmentLock(first.containerId, first.ifname, () =>
        store.withVfLock(first.deviceID, async () => {
          const stored = await store.loadAttachment(first.containerId, first.ifname)
          if (!stored) return // a DEL got there first
          await detach(await toRecord(stored, store, { netns: '' }, { conf: conf.raw, own: false }), store, env, vfc, releasedToo)
        }),
      )
      log('info', 'GC released a stale attachment', { deviceID: first.deviceID, attachment: { containerId: first.containerId, ifname: first.ifname } })
    } catch (e) {
      errors.push(`${first.containerId}/${first.ifname}: ${(e as Error).message}`)
    }
  }
  try {
    for (const file of await store.removeEmptyRecords()) log('warning', 'GC removed an attachment record a power cut left empty', { file })
  } catch (e) {
    errors.push(`empty records: ${(e as Error).message}`)
  }
  for (const pci of await store.markedVfs()) {
    await store.withVfLock(pci, () => store.clearOrphanMark(pci)).catch((e) => errors.push(`mark of ${pci}: ${(e as Error).message}`))
  }
  await store.sweep().catch((e) => errors.push(`state directory: ${(e as Error).message}`))
  try {
    await ipamGc({ ...conf.raw }, env, valid)
  } catch (e) {
    errors.push(`IPAM GC: ${(e as Error).message}`)
  }
  if (errors.length) throw new Error(`GC could not release everything: ${errors.join('; ')}`)
}
