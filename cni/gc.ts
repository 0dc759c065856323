// GC (spec 1.1): undo every attachment of this network that the runtime no longer lists, then let IPAM
// drop leases the same way. Continues past errors and reports the first.
import { StateStore } from '../state/store'
import type { PluginContext } from '../protocol/skel'
import { validAttachments } from '../protocol/skel'
import { toRecord } from './del'
import { ipamGc } from './ipam'
import { log } from './log'
import { releaseAttachment } from './release'

export async function cmdGc({ env, conf }: PluginContext): Promise<void> {
  const valid = new Set(validAttachments(conf).map((a) => `${a.containerID}\n${a.ifname}`))
  const store = new StateStore()
  const errors: string[] = []
  for (const stored of await store.listAttachments()) {
    const rec = await toRecord(stored, store, { netns: '' })
    if (rec.netName !== conf.name || valid.has(`${rec.containerId}\n${rec.ifname}`)) continue
    try {
      await store.withVfLock(rec.deviceID, () => releaseAttachment(rec, store, env))
      log('info', 'GC released a stale attachment', { containerId: rec.containerId, ifname: rec.ifname, deviceID: rec.deviceID })
    } catch (e) {
      errors.push(`${rec.containerId}/${rec.ifname}: ${(e as Error).message}`)
    }
  }
  try {
    await ipamGc({ ...conf.raw }, env)
  } catch (e) {
    errors.push(`IPAM GC: ${(e as Error).message}`)
  }
  if (errors.length) throw new Error(`GC could not release everything: ${errors.join('; ')}`)
}
