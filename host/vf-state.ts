// A VF's configuration as seen through its PF: what ADD records before changing it and what DEL restores.
export type VlanProto = '802.1q' | '802.1ad'
export type LinkState = 'auto' | 'enable' | 'disable'

export interface VfState {
  mac: string // admin MAC on the PF, lower case; 00:00:00:00:00:00 when unset
  vlan: number
  qos: number
  proto: VlanProto
  spoofchk: boolean
  trust: boolean
  linkState: LinkState
  minTxRate: number // Mbps
  maxTxRate: number // Mbps
}

/** The driver defaults: what a freshly created VF reports. */
export const DEFAULT_VF_STATE: Readonly<VfState> = Object.freeze({
  mac: '00:00:00:00:00:00',
  vlan: 0,
  qos: 0,
  proto: '802.1q',
  spoofchk: true,
  trust: false,
  linkState: 'auto',
  minTxRate: 0,
  maxTxRate: 0,
})
