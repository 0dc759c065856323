// Repairs attachments whose pod namespace is gone (the runtime never sent DEL: node reboot, crashed
// runtime): after a grace period it runs the installed sriov plugin's DEL exactly as a runtime would.
import { spawn } from 'node:child_process'
import path = require('node:path')
import type { Logger } from 'pino'
import { netnsExists } from '../host/netns'
import { seams as processSeams, seamsEnv, type Seams } from '../host/seams'
import { StateStore } from '../state/store'
import type { Metrics } from './metrics'

export class Reconciler {
  private goneSince = new Map<string, number>()

  constructor(readonly store: StateStore, readonly cniBinDir: string, readonly graceMs: number, readonly log: Logger, readonly metrics: Metrics, readonly seams: Seams = processSeams()) {}

  async run(now = Date.now()): Promise<number> {
    let repaired = 0
    const seen = new Set<string>()
    for (const a of await this.store.listAttachments()) {
      if (a.kind !== 'ours') continue
      const rec = a.record
      const key = `${rec.containerId}/${rec.ifname}`
      seen.add(key)
      if (netnsExists(rec.netns)) {
        this.goneSince.delete(key)
        continue
      }
      const since = this.goneSince.get(key) ?? now
      this.goneSince.set(key, since)
      if (now - since < this.graceMs) continue
      const ok = await this.del(rec.netConf, rec.containerId, rec.ifname)
      this.metrics.repaired(ok ? 'repaired' : 'failed')
      if (ok) {
        repaired++
        this.goneSince.delete(key)
        this.log.info({ containerId: rec.containerId, ifname: rec.ifname, deviceID: rec.deviceID }, 'released the attachment of a dead pod')
      }
    }
    for (const k of this.goneSince.keys()) if (!seen.has(k)) this.goneSince.delete(k)
    return repaired
  }

  private del(netConf: Record<string, unknown>, containerId: string, ifname: string): Promise<boolean> {
    return new Promise((resolve) => {
      const child = spawn(path.join(this.cniBinDir, 'sriov'), [], {
        // the DEL works on the node this process sees: the same seams, the same state directory
        env: { ...process.env, ...seamsEnv({ ...this.seams, stateDir: this.store.root }), CNI_COMMAND: 'DEL', CNI_CONTAINERID: containerId, CNI_IFNAME: ifname, CNI_NETNS: '', CNI_PATH: this.cniBinDir },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      child.on('error', (e) => {
        this.log.error({ err: e.message }, 'cannot run the sriov plugin for a repair')
        resolve(false)
      })
      child.on('close', (code) => {
        if (code !== 0) this.log.warn({ containerId, ifname, out }, 'repair DEL failed')
        resolve(code === 0)
      })
      child.stdin.end(JSON.stringify(netConf))
    })
  }
}
