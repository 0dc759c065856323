// VF configuration on the PF: one interface, the netlink implementation by default, and a stand-in that
// records settings in JSON files for hosts without SR-IOV (SRIOV_VF_CONFIG=record:<dir>).
import fs = require('node:fs')
import path = require('node:path')
import { writeFileAtomic } from './atomic-file'
import { lockFile } from './flock'
import { seams, type Seams } from './seams'
import { NetlinkVfConfig } from './vf-config-netlink'
import { DEFAULT_VF_STATE, type VfState } from './vf-state'
import { makeDirs } from './make-dirs'

export interface VfConfigurator {
  read(pf: string, vf: number): Promise<VfState>
  /** Applies only the given fields; the PF applies them one attribute at a time. */
  apply(pf: string, vf: number, change: Partial<VfState>): Promise<void>
}

/** Field names in the stand-in's files: those of `ip link` and sriov-cni's config. */
const RECORD_KEYS: Record<keyof VfState, string> = {
  mac: 'mac', vlan: 'vlan', qos: 'qos', proto: 'proto', spoofchk: 'spoofchk', trust: 'trust',
  linkState: 'link_state', minTxRate: 'min_tx_rate', maxTxRate: 'max_tx_rate',
}

/** The stand-in: `<dir>/<pf>.json` is `{"<vf>": {mac, vlan, qos, proto, spoofchk, trust, link_state, min_tx_rate, max_tx_rate}}`. */
export class RecordVfConfig implements VfConfigurator {
  constructor(readonly dir: string) {}

  private file(pf: string): string {
    return path.join(this.dir, `${pf}.json`)
  }

  private load(pf: string): Record<string, Record<string, unknown>> {
    try {
      return JSON.parse(fs.readFileSync(this.file(pf), 'utf8'))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {}
      throw new Error(`cannot read VF config stand-in ${this.file(pf)}: ${(e as Error).message}`)
    }
  }

  async read(pf: string, vf: number): Promise<VfState> {
    const v = this.load(pf)[String(vf)] ?? {}
    const d = DEFAULT_VF_STATE
    return {
      mac: typeof v.mac === 'string' ? v.mac.toLowerCase() : d.mac,
      vlan: typeof v.vlan === 'number' ? v.vlan : d.vlan,
      qos: typeof v.qos === 'number' ? v.qos : d.qos,
      proto: v.proto === '802.1ad' ? '802.1ad' : d.proto,
      spoofchk: typeof v.spoofchk === 'boolean' ? v.spoofchk : d.spoofchk,
      trust: typeof v.trust === 'boolean' ? v.trust : d.trust,
      linkState: v.link_state === 'enable' || v.link_state === 'disable' ? v.link_state : d.linkState,
      minTxRate: typeof v.min_tx_rate === 'number' ? v.min_tx_rate : d.minTxRate,
      maxTxRate: typeof v.max_tx_rate === 'number' ? v.max_tx_rate : d.maxTxRate,
    }
  }

  async apply(pf: string, vf: number, change: Partial<VfState>): Promise<void> {
    makeDirs(this.dir, 0o755)
    // one file holds every VF of the PF: ADDs on two VFs must not lose each other's update
    const lock = await lockFile(`${this.file(pf)}.lock`, 0o644)
    try {
      const all = this.load(pf)
      const v = { ...(all[String(vf)] ?? {}) }
      for (const [k, value] of Object.entries(change)) if (value !== undefined) v[RECORD_KEYS[k as keyof VfState]] = value
      all[String(vf)] = v
      writeFileAtomic(this.file(pf), JSON.stringify(all, null, 2), { mode: 0o644 })
    } finally {
      lock.release()
    }
  }
}

/** The configurator the seams ask for: the record stand-in only when told, netlink otherwise. */
export function vfConfigurator(s: Seams = seams()): VfConfigurator {
  return s.vfConfig.kind === 'record' ? new RecordVfConfig(s.vfConfig.dir) : new NetlinkVfConfig()
}
