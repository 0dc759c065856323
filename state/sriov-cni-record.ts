// Records written by Go sriov-cni (a node upgraded in place): its saved NetConf, turned into our record so
// that DEL restores a VF that sriov-cni attached.
import { DEFAULT_VF_STATE, type LinkState, type VfState } from '../host/vf-state'
import { ATTACHMENT_FORMAT, type AttachmentRecord } from './attachment'

const LINK_STATES: LinkState[] = ['auto', 'enable', 'disable']
const num = (v: unknown, d = 0) => (typeof v === 'number' ? v : d)
const str = (v: unknown) => (typeof v === 'string' ? v : '')

export function fromSriovCniRecord(raw: Record<string, unknown>, containerId: string, ifname: string, netns: string, dpdkMode: boolean): AttachmentRecord {
  const o = (raw.OrigVfState ?? {}) as Record<string, unknown>
  const origVf: VfState = {
    ...DEFAULT_VF_STATE,
    mac: str(o.AdminMAC).toLowerCase() || DEFAULT_VF_STATE.mac,
    vlan: num(o.Vlan),
    qos: num(o.VlanQoS),
    proto: o.VlanProto === 0x88a8 ? '802.1ad' : '802.1q',
    spoofchk: typeof o.SpoofChk === 'boolean' ? o.SpoofChk : true,
    trust: o.Trust === true,
    linkState: LINK_STATES[num(o.LinkState)] ?? 'auto',
    minTxRate: num(o.MinTxRate),
    maxTxRate: num(o.MaxTxRate),
  }
  // what sriov-cni's ADD changed follows from its config, as its own DEL assumes
  const applied: Partial<VfState> = {}
  const keys = ['mac', 'vlan', 'qos', 'proto', 'spoofchk', 'trust', 'linkState', 'minTxRate', 'maxTxRate'] as const
  const changed: Record<(typeof keys)[number], boolean> = {
    mac: !!str(raw.MAC), vlan: raw.vlan !== undefined && raw.vlan !== null, qos: raw.vlan !== undefined && raw.vlan !== null,
    proto: raw.vlanProto !== undefined && raw.vlanProto !== null, spoofchk: !!str(raw.spoofchk), trust: !!str(raw.trust),
    linkState: !!str(raw.link_state), minTxRate: raw.min_tx_rate !== undefined && raw.min_tx_rate !== null,
    maxTxRate: raw.max_tx_rate !== undefined && raw.max_tx_rate !== null,
  }
  for (const k of keys) if (changed[k]) (applied as Record<string, unknown>)[k] = true
  const rec: AttachmentRecord = {
    format: ATTACHMENT_FORMAT,
    containerId,
    ifname,
    netns,
    netName: str(raw.name),
    cniVersion: str(raw.cniVersion) || '0.3.1',
    deviceID: str(raw.deviceID).toLowerCase(),
    pfName: str(raw.Master),
    vfIndex: num(raw.VFID),
    dpdkMode,
    origVf,
    appliedVf: applied,
    netConf: raw,
    ips: [],
    result: { cniVersion: str(raw.cniVersion) || '0.3.1' },
    createdAt: '',
  }
  if (!dpdkMode) {
    rec.hostIfName = str(o.HostIFName)
    rec.origNetdev = { mac: str(o.EffectiveMAC).toLowerCase(), mtu: num(o.MTU) }
  }
  if (str(raw.MAC)) rec.podMac = str(raw.MAC).toLowerCase()
  return rec
}
