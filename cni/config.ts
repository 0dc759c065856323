// The sriov network config: every sriov-cni field, same names and meaning, validated strictly (code 7 naming
// the field) into typed values.
import type { VlanProto, LinkState, VfState } from '../host/vf-state'
import { validatePciAddress } from '../state/store'
import { hasShape, isHexOctets } from '../protocol/text-shape'
import type { CniEnv } from '../protocol/env'
import { CniError, ErrorCode } from '../protocol/errors'
import type { NetConf } from '../protocol/netconf'

export interface SriovConfig {
  netConf: NetConf
  deviceID: string
  vlan?: number
  vlanQoS?: number
  mtu?: number
  vlanProto?: VlanProto
  mac?: string
  spoofchk?: boolean
  trust?: boolean
  linkState?: LinkState
  minTxRate?: number
  maxTxRate?: number
}

const invalid = (field: string, why: string) => new CniError(ErrorCode.InvalidConfig, `invalid ${field}: ${why}`)
// the three 6-byte forms Go's net.ParseMAC (sriov-cni's parser) takes: 02:00:00:00:00:01, 02-00-00-00-00-01, 0200.0000.0001
const isMacForm = (v: string): boolean => isHexOctets(v, ':', 6, 6) || isHexOctets(v, '-', 6, 6) || hasShape(v, 'hhhh.hhhh.hhhh')

function int(raw: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const v = raw[field]
  if (v === undefined || v === null) return undefined
  // String for a number JSON cannot write (1e400 parses as Infinity, which JSON.stringify writes as null)
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(field, `${typeof v === 'number' ? String(v) : JSON.stringify(v)} must be an integer from ${min} to ${max}`)
  return v
}

function onOff(raw: Record<string, unknown>, field: string): boolean | undefined {
  const v = raw[field]
  if (v === undefined || v === null || v === '') return undefined
  if (v === 'on') return true
  if (v === 'off') return false
  throw invalid(field, `${JSON.stringify(v)} must be "on" or "off"`)
}

export function parseMacAddress(v: unknown, field: string): string {
  if (typeof v !== 'string' || !isMacForm(v)) throw invalid(field, `${JSON.stringify(v)} is not a MAC address such as 02:00:00:00:00:01`)
  const digits = [...v.toLowerCase()].filter((c) => c !== ':' && c !== '-' && c !== '.').join('')
  const mac = [0, 2, 4, 6, 8, 10].map((i) => digits.slice(i, i + 2)).join(':')
  // a NIC takes only a unicast, non-zero address: refused here rather than by the driver half-way through ADD
  if (parseInt(mac.slice(0, 2), 16) & 1) throw invalid(field, `${v} is a multicast address; a VF needs a unicast one (first octet even)`)
  if (mac === '00:00:00:00:00:00') throw invalid(field, `${v} is all zeros`)
  return mac
}

/** The deviceID a config names (runtimeConfig first), lower case; undefined when there is none. */
function rawDeviceId(conf: NetConf): unknown {
  const rc = conf.runtimeConfig ?? {}
  return rc.deviceID !== undefined && rc.deviceID !== null && rc.deviceID !== '' ? rc.deviceID : conf.raw.deviceID
}

/** For DEL, which must succeed whatever the config: the deviceID if it is a valid PCI address. */
export function deviceIdOf(conf: NetConf): string | undefined {
  const id = rawDeviceId(conf)
  if (typeof id !== 'string') return undefined
  try {
    validatePciAddress(id)
    return id.toLowerCase()
  } catch {
    return undefined
  }
}

export function parseSriovConfig(conf: NetConf, env: Pick<CniEnv, 'args'>): SriovConfig {
  const raw = conf.raw
  const rc = conf.runtimeConfig ?? {}
  const deviceID = rawDeviceId(conf)
  if (deviceID === undefined || deviceID === '') {
    throw new CniError(ErrorCode.InvalidConfig, 'missing deviceID: set "deviceID" to the VF PCI address (Multus passes the one the device plugin allocated)')
  }
  if (typeof deviceID !== 'string') throw invalid(deviceID === rc.deviceID ? 'runtimeConfig.deviceID' : 'deviceID', `${JSON.stringify(deviceID)} must be a string`)
  validatePciAddress(deviceID)
  const out: SriovConfig = { netConf: conf, deviceID: deviceID.toLowerCase() }

  out.vlan = int(raw, 'vlan', 0, 4094)
  out.vlanQoS = int(raw, 'vlanQoS', 0, 7)
  if (out.vlanQoS !== undefined && out.vlan === undefined) throw invalid('vlanQoS', 'needs "vlan" to be set')
  // a priority tag without a VLAN is refused by sriov-cni too (the PF would silently drop the QoS)
  if (out.vlanQoS && out.vlan === 0) throw invalid('vlanQoS', `${out.vlanQoS} needs a non-zero vlan`)
  // 68 is the smallest MTU IPv4 allows; the PF's own MTU is the upper bound, checked against the PF at ADD
  out.mtu = int(raw, 'mtu', 68, 65535)
  if (raw.vlanProto !== undefined && raw.vlanProto !== null) {
    const p = typeof raw.vlanProto === 'string' ? raw.vlanProto.toLowerCase() : ''
    if (p !== '802.1q' && p !== '802.1ad') throw invalid('vlanProto', `${JSON.stringify(raw.vlanProto)} must be "802.1q" or "802.1ad"`)
    if (out.vlan === undefined) throw invalid('vlanProto', 'needs "vlan" to be set')
    if (out.vlan === 0 && p === '802.1ad') throw invalid('vlanProto', '802.1ad needs a non-zero vlan')
    out.vlanProto = p
  }

  // runtimeConfig.mac > CNI_ARGS MAC= > mac, as sriov-cni does
  if (typeof rc.mac === 'string' && rc.mac) out.mac = parseMacAddress(rc.mac, 'runtimeConfig.mac')
  else if (env.args.MAC) out.mac = parseMacAddress(env.args.MAC, 'CNI_ARGS MAC')
  else if (raw.mac !== undefined && raw.mac !== '') out.mac = parseMacAddress(raw.mac, 'mac')

  out.spoofchk = onOff(raw, 'spoofchk')
  out.trust = onOff(raw, 'trust')
  if (raw.link_state !== undefined && raw.link_state !== '') {
    if (raw.link_state !== 'auto' && raw.link_state !== 'enable' && raw.link_state !== 'disable') {
      throw invalid('link_state', `${JSON.stringify(raw.link_state)} must be "auto", "enable" or "disable"`)
    }
    out.linkState = raw.link_state
  }
  out.minTxRate = int(raw, 'min_tx_rate', 0, 2 ** 32 - 1)
  out.maxTxRate = int(raw, 'max_tx_rate', 0, 2 ** 32 - 1)
  if (out.minTxRate !== undefined && out.maxTxRate !== undefined && out.maxTxRate !== 0 && out.minTxRate > out.maxTxRate) {
    throw invalid('min_tx_rate', `${out.minTxRate} is above max_tx_rate ${out.maxTxRate}`)
  }
  // an ipam object without a type means no IPAM (sriov-network-operator renders "ipam": {}), as in sriov-cni
  const ipamType = conf.ipam?.type
  if (ipamType !== undefined && ipamType !== '' && typeof ipamType !== 'string') throw invalid('ipam.type', `${JSON.stringify(ipamType)} must be the IPAM plugin's name`)
  // logLevel and logFile never fail a call (as in sriov-cni): see log-settings.ts
  return out
}

/** What ADD sets on the PF for this VF: only the fields the config names. */
export function requestedVfState(cfg: SriovConfig): Partial<VfState> {
  const want: Partial<VfState> = {}
  if (cfg.vlan !== undefined) {
    want.vlan = cfg.vlan
    want.qos = cfg.vlanQoS ?? 0
    want.proto = cfg.vlanProto ?? '802.1q'
  }
  if (cfg.mac !== undefined) want.mac = cfg.mac
  if (cfg.spoofchk !== undefined) want.spoofchk = cfg.spoofchk
  if (cfg.trust !== undefined) want.trust = cfg.trust
  if (cfg.linkState !== undefined) want.linkState = cfg.linkState
  if (cfg.minTxRate !== undefined) want.minTxRate = cfg.minTxRate
  if (cfg.maxTxRate !== undefined) want.maxTxRate = cfg.maxTxRate
  return want
}
