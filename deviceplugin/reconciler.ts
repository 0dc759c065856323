// Repairs attachments whose pod namespace is gone (the runtime never sent DEL: node reboot, crashed
// runtime): after a grace period it runs the installed sriov plugin's DEL exactly as a runtime would.
import { spawn } from 'node:child_process'
import fs = require('node:fs')
import path = require('node:path')
import type { Logger } from 'pino'
import { netnsExists } from '../host/netns'
import { seams as processSeams, seamsEnv, type Seams } from '../host/seams'
import { Sysfs } from '../host/sysfs'
import { vfNetdevOnHost } from '../host/vf-netdev-on-host'
import { madeInEarlierBoot, type AttachmentRecord } from '../state/attachment'
import { StateStore } from '../state/store'
import type { Metrics } from './metrics'

export class Reconciler {
  private goneSince = new Map<string, number>()
  private unseen = new Set<string>()

  constructor(readonly store: StateStore, readonly cniBinDir: string, readonly graceMs: number, readonly log: Logger, readonly metrics: Metrics, readonly seams: Seams = processSeams()) {}

  async run(now = Date.now()): Promise<number> {
    let repaired = 0
    const seen = new Set<string>()
    for (const a of await this.store.listAttachments()) {
      if (a.kind !== 'ours') continue
      const rec = a.record
      const key = `${rec.containerId}/${rec.ifname}`
      seen.add(key)
      if (netnsExists(rec.netns) || !(await this.diedForSure(rec, key))) {
        this.goneSince.delete(key)
        continue
      }
      this.unseen.delete(key)
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
    for (const k of this.unseen) if (!seen.has(k)) this.unseen.delete(k)
    return repaired
  }

  /**
   * A namespace path this process does not see may still be a live pod's: its directory not mounted here, or a
   * /proc path of another PID namespace. A DEL would then reset the VF under that pod and free its IPs. So a
   * VF netdev counts as released only once it is back on the host (the kernel returns it when its namespace
   * dies); a DPDK VF, which has none, once the directory of its path is there. A record of an earlier boot is dead.
   */
  private async diedForSure(rec: AttachmentRecord, key: string): Promise<boolean> {
    if (madeInEarlierBoot(rec)) return true
    const sure = rec.dpdkMode ? !rec.netns || rec.netns.startsWith('/proc/') || fs.existsSync(path.dirname(rec.netns)) : await vfNetdevOnHost(rec.deviceID, [rec.hostIfName, rec.ifname], rec.podIndex, new Sysfs(this.seams.sysfsRoot))
    if (!sure && !this.unseen.has(key)) {
      this.unseen.add(key)
      const why = rec.dpdkMode ? `its directory ${path.dirname(rec.netns)} is not there` : `the VF netdev is not back on the host`
      this.log.warn({ containerId: rec.containerId, ifname: rec.ifname, deviceID: rec.deviceID, netns: rec.netns }, `the pod's network namespace is not visible here, but ${why}: the attachment is left alone (is the namespace directory mounted into this container with HostToContainer propagation?)`)
    }
    return sure
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
