// Our attachment record as read back from disk: untrusted (a damaged disk, a hand edit), so every field DEL, GC
// and CHECK act on is checked once here, and a record that does not hold up is refused naming the field, as an
// unreadable one, instead of failing later in a step with a bare TypeError or undoing only half of it.
import type { LinkState, VfState, VlanProto } from '../host/vf-state'
import { MAX_JSON_DEPTH, tooDeep } from '../protocol/json-depth'
import { validateIfname, validateNetworkName } from '../protocol/names'
import { hasShape, isHexOctets } from '../protocol/text-shape'
import { isSupportedVersion } from '../protocol/version'
import { ATTACHMENT_FORMAT, type AttachmentRecord, type AttachmentState } from './attachment'

const STATES: AttachmentState[] = ['adding', 'added', 'lost']
const PROTOS: VlanProto[] = ['802.1q', '802.1ad']
const LINK_STATES: LinkState[] = ['auto', 'enable', 'disable']
/** A VF's PCI address as configs and records give it (the store's marks and locks are named by it too). */
export const isPciAddress = (s: string): boolean => hasShape(s, 'hhhh:hh:hh.o')

type Check = (v: unknown) => boolean
const isString: Check = (v) => typeof v === 'string'
const isBool: Check = (v) => typeof v === 'boolean'
const isCount: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0
const isObject: Check = (v) => typeof v === 'object' && v !== null && !Array.isArray(v)
// 6 octets, or up to 20 (an IPoIB link's hardware address), as the kernel prints them
const isMac: Check = (v) => typeof v === 'string' && isHexOctets(v, ':', 6, 20)
// IPv4's minimum (the kernel takes none lower) to the largest any link has (lo's)
const isMtu: Check = (v) => isCount(v) && (v as number) >= 68 && (v as number) <= 65536
const isPci: Check = (v) => isString(v) && isPciAddress(v as string)
// what the kernel takes as a link name, by the rule CNI_IFNAME is checked with
const isIfname: Check = (v) => isString(v) && passes(() => validateIfname(v as string))
const upTo = (max: number): Check => (v) => isCount(v) && (v as number) <= max
const isObjectOrNone: Check = (v) => v === undefined || v === null || isObject(v)
const isVersion: Check = (v) => v === undefined || v === '' || (typeof v === 'string' && isSupportedVersion(v))
const isStrings: Check = (v) => Array.isArray(v) && v.every(isString)
const oneOf = (xs: readonly unknown[]): Check => (v) => xs.includes(v)

/** What each VfState field must be; every one is required in origVf (all were written since the first format). */
const VF_FIELDS: Record<keyof VfState, [Check, string]> = {
  mac: [isMac, 'a MAC address'],
  vlan: [upTo(4095), 'a VLAN ID (0-4095)'],
  qos: [upTo(7), 'a QoS priority (0-7)'],
  proto: [oneOf(PROTOS), PROTOS.join(' or ')],
  spoofchk: [isBool, 'true or false'],
  trust: [isBool, 'true or false'],
  linkState: [oneOf(LINK_STATES), LINK_STATES.join(', ')],
  minTxRate: [isCount, 'a rate in Mbps'],
  maxTxRate: [isCount, 'a rate in Mbps'],
}

function passes(validate: () => void): boolean {
  try {
    validate()
    return true
  } catch {
    return false
  }
}

export class BadRecordField extends Error {
  constructor(readonly field: string, value: unknown, expected: string) {
    super(`field "${field}" is ${value === undefined ? 'missing' : JSON.stringify(value)?.slice(0, 80)}, expected ${expected}`)
  }
}

function need(raw: Record<string, unknown>, field: string, check: Check, expected: string, prefix = ''): void {
  if (!check(raw[field])) throw new BadRecordField(prefix + field, raw[field], expected)
}

function maybe(raw: Record<string, unknown>, field: string, check: Check, expected: string, prefix = ''): void {
  if (raw[field] !== undefined) need(raw, field, check, expected, prefix)
}

/**
 * `raw` (a parsed file whose format is ours) as a record, or a BadRecordField naming what does not hold up.
 * `expected`: the container ID and interface the file's name stands for, when the caller knows them.
 */
export function parseRecord(raw: Record<string, unknown>, expected?: { containerId: string; ifname: string }): AttachmentRecord {
  if (raw.format !== ATTACHMENT_FORMAT) throw new BadRecordField('format', raw.format, JSON.stringify(ATTACHMENT_FORMAT))
  notTooDeep(raw)
  maybe(raw, 'state', oneOf(STATES), STATES.join(', '))
  maybe(raw, 'pid', isCount, 'a process ID')
  for (const f of ['containerId', 'ifname', 'netns', 'netName', 'cniVersion', 'pfName', 'createdAt']) need(raw, f, isString, 'a string')
  if (expected && raw.containerId !== expected.containerId) throw new BadRecordField('containerId', raw.containerId, `${JSON.stringify(expected.containerId)}, the one its file is named after`)
  if (expected && raw.ifname !== expected.ifname) throw new BadRecordField('ifname', raw.ifname, `${JSON.stringify(expected.ifname)}, the one its file is named after`)
  need(raw, 'deviceID', isPci, 'a PCI address')
  need(raw, 'vfIndex', isCount, 'a VF index')
  need(raw, 'dpdkMode', isBool, 'true or false')
  if (raw.dpdkMode === false) {
    // DEL brings the netdev home under this name with these: without them it cannot
    need(raw, 'hostIfName', isIfname, 'the VF netdev\'s host name')
    need(raw, 'origNetdev', isObject, 'the VF netdev\'s original state')
    const nd = raw.origNetdev as Record<string, unknown>
    need(nd, 'mac', isMac, 'a MAC address', 'origNetdev.')
    need(nd, 'mtu', isMtu, 'an MTU', 'origNetdev.')
    maybe(nd, 'index', isCount, 'an interface index', 'origNetdev.')
    maybe(nd, 'up', isBool, 'true or false', 'origNetdev.')
    maybe(nd, 'parentDev', isString, 'a string', 'origNetdev.')
    maybe(nd, 'altnames', isStrings, 'a list of names', 'origNetdev.')
    maybe(nd, 'kind', isString, 'a string', 'origNetdev.')
  } else {
    maybe(raw, 'hostIfName', isString, 'a string')
    maybe(raw, 'origNetdev', isObject, 'an object')
  }
  need(raw, 'origVf', isObject, "the VF's original state on the PF")
  need(raw, 'appliedVf', isObject, 'what ADD set on the PF')
  for (const [f, [check, what]] of Object.entries(VF_FIELDS)) {
    need(raw.origVf as Record<string, unknown>, f, check, what, 'origVf.')
    // `true`: set, to a value a Go sriov-cni record did not say (such a record, once kept as lost, is in our format)
    maybe(raw.appliedVf as Record<string, unknown>, f, (v) => v === true || check(v), what, 'appliedVf.')
  }
  need(raw, 'netConf', isObject, 'the network config')
  checkNetConf(raw.netConf as Record<string, unknown>, 'netConf.')
  need(raw, 'ips', isStrings, 'a list of addresses')
  need(raw, 'result', isObject, 'the ADD result')
  maybe(raw, 'podMac', isMac, 'a MAC address')
  maybe(raw, 'podMtu', isMtu, 'an MTU')
  maybe(raw, 'podIndex', isCount, 'an interface index')
  return raw as unknown as AttachmentRecord
}

/** The network config a record keeps for DEL's IPAM release: what every verb needs of it, as ADD checked it. */
function checkNetConf(conf: Record<string, unknown>, prefix: string): void {
  need(conf, 'cniVersion', isVersion, 'a CNI version', prefix)
  try {
    validateNetworkName(conf.name)
  } catch (e) {
    throw new BadRecordField(`${prefix}name`, conf.name, `a network name (${(e as Error).message.replace(/: set .*/, '')})`)
  }
  need(conf, 'type', (v) => isString(v) && v !== '', 'a plugin type', prefix)
  maybe(conf, 'ipam', isObject, 'an object', prefix)
  for (const f of ['runtimeConfig', 'args', 'prevResult']) need(conf, f, isObjectOrNone, 'an object', prefix)
}

// a record keeps the config one level down (netConf, and its result's under result): any config ADD took fits
const MAX_RECORD_DEPTH = MAX_JSON_DEPTH + 2

function notTooDeep(raw: Record<string, unknown>): void {
  const deep = tooDeep(raw, MAX_RECORD_DEPTH)
  if (deep !== undefined) throw new BadRecordField(deep, '(nested)', `at most ${MAX_RECORD_DEPTH} levels deep`)
}

/**
 * A record Go sriov-cni wrote (its NetConf, with the VF's original state), checked as ours are: Go always wrote
 * `deviceID`, `name` and `OrigVfState`; other fields, absent in some versions, are checked when present.
 */
export function checkSriovCniRecord(raw: Record<string, unknown>): void {
  notTooDeep(raw)
  need(raw, 'deviceID', isPci, 'a PCI address')
  checkNetConf(raw, '')
  // the PF's name and the VF index are taken from sysfs by the VF's PCI address where it still exists
  maybe(raw, 'Master', (v) => v === null || isString(v), 'the PF\'s name')
  maybe(raw, 'VFID', isCount, 'a VF index')
  maybe(raw, 'MAC', (v) => v === '' || isMac(v), 'a MAC address')
  need(raw, 'OrigVfState', isObject, "the VF's original state")
  const o = raw.OrigVfState as Record<string, unknown>
  const p = 'OrigVfState.'
  maybe(o, 'HostIFName', (v) => v === '' || isIfname(v), 'an interface name', p)
  for (const f of ['AdminMAC', 'EffectiveMAC']) maybe(o, f, (v) => v === '' || isMac(v), 'a MAC address', p)
  maybe(o, 'Vlan', upTo(4095), 'a VLAN ID (0-4095)', p)
  maybe(o, 'VlanQoS', upTo(7), 'a QoS priority (0-7)', p)
  for (const f of ['VlanProto', 'MinTxRate', 'MaxTxRate', 'LinkState']) maybe(o, f, isCount, 'a number', p)
  maybe(o, 'MTU', (v) => v === 0 || isMtu(v), 'an MTU', p)
  for (const f of ['SpoofChk', 'Trust']) maybe(o, f, isBool, 'true or false', p)
}
