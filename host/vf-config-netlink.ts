// VF configuration through the PF over rtnetlink (IFLA_VFINFO_LIST), the way `ip link set <pf> vf N ...`
// does it: the kernel's VF structs are encoded and decoded here.
import { closeRtnl, formatMac, getLink, IFLA, openRtnl, parseMac, setLink } from './link'
import { attrList, cString } from './rtnetlink'
import type { LinkState, VfState } from './vf-state'

const RTEXT_FILTER_VF = 1
const IFLA_VF_VLAN_INFO = 1
const ETH_P_8021Q = 0x8100
const ETH_P_8021AD = 0x88a8
const LINK_STATES: LinkState[] = ['auto', 'enable', 'disable']

export type VfAttrs = Record<string, Buffer | undefined>

// IFLA_VF_* by the names VfAttrs uses; inside IFLA_VFINFO_LIST each VF is one nested IFLA_VF_INFO
const IFLA_VF_INFO = 1
const VF_ATTR: Record<string, number> = { mac: 1, vlan: 2, txRate: 3, spoofchk: 4, linkState: 5, rate: 6, trust: 9, vlanList: 12 }
const VF_ATTR_NAME = new Map(Object.entries(VF_ATTR).map(([k, v]) => [v, k]))

/** Every VF's attributes from a PF's IFLA_VFINFO_LIST. */
export function parseVfInfoList(list: Buffer | undefined): VfAttrs[] {
  if (!list) return []
  return attrList(list)
    .filter(([type]) => type === IFLA_VF_INFO)
    .map(([, info]) => Object.fromEntries(attrList(info).flatMap(([t, v]) => (VF_ATTR_NAME.has(t) ? [[VF_ATTR_NAME.get(t)!, v]] : []))))
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4)
  values.forEach((v, i) => b.writeUInt32LE(v >>> 0, i * 4))
  return b
}

function vlanList(vf: number, vlan: number, qos: number, proto: string): Buffer {
  // one nested IFLA_VF_VLAN_INFO: struct ifla_vf_vlan_info { u32 vf, vlan, qos; __be16 vlan_proto } + padding
  const info = Buffer.alloc(16)
  info.writeUInt32LE(vf, 0)
  info.writeUInt32LE(vlan, 4)
  info.writeUInt32LE(qos, 8)
  info.writeUInt16BE(proto === '802.1ad' ? ETH_P_8021AD : ETH_P_8021Q, 12)
  const hdr = Buffer.alloc(4)
  hdr.writeUInt16LE(4 + info.length, 0)
  hdr.writeUInt16LE(IFLA_VF_VLAN_INFO, 2)
  return Buffer.concat([hdr, info])
}

/** One VF's attributes from IFLA_VFINFO_LIST, as the kernel's structs lay them out. */
export function decodeVfInfo(vf: VfAttrs): { index: number; state: VfState } {
  const mac = vf.mac!
  const index = mac.readUInt32LE(0)
  const vlan = vf.vlan ? vf.vlan.readUInt32LE(4) : 0
  const qos = vf.vlan ? vf.vlan.readUInt32LE(8) : 0
  let proto: VfState['proto'] = '802.1q'
  if (vf.vlanList && vf.vlanList.length >= 4 + 14) proto = vf.vlanList.readUInt16BE(4 + 12) === ETH_P_8021AD ? '802.1ad' : '802.1q'
  const setting = (b: Buffer | undefined, dflt: boolean) => (b ? (b.readInt32LE(4) === -1 ? dflt : b.readUInt32LE(4) !== 0) : dflt)
  return {
    index,
    state: {
      mac: formatMac(mac.subarray(4, 10)),
      vlan,
      qos,
      proto,
      spoofchk: setting(vf.spoofchk, true),
      trust: setting(vf.trust, false),
      linkState: vf.linkState ? LINK_STATES[vf.linkState.readUInt32LE(4)] ?? 'auto' : 'auto',
      minTxRate: vf.rate ? vf.rate.readUInt32LE(4) : 0,
      maxTxRate: vf.rate ? vf.rate.readUInt32LE(8) : vf.txRate ? vf.txRate.readUInt32LE(4) : 0,
    },
  }
}

/** Whether encoding `change` needs the VF's current state (fields the kernel sets together with others). */
export function needsCurrent(change: Partial<VfState>): boolean {
  return change.minTxRate !== undefined || change.maxTxRate !== undefined || change.vlan !== undefined || change.qos !== undefined || change.proto !== undefined
}

/** The IFLA_VF_* attributes that set `change` on VF `vf`, one per request, named for errors. */
export function vfAttributeSteps(vf: number, change: Partial<VfState>, current?: VfState): [string, VfAttrs][] {
  const steps: [string, VfAttrs][] = []
  if (change.mac !== undefined) steps.push(['mac', { mac: Buffer.concat([u32s(vf), parseMac(change.mac), Buffer.alloc(26)]) }])
  if (change.vlan !== undefined || change.qos !== undefined || change.proto !== undefined) {
    const vlan = change.vlan ?? current!.vlan
    const qos = change.qos ?? current!.qos
    const proto = change.proto ?? current!.proto
    // plain IFLA_VF_VLAN is what every driver takes; the list form only when 802.1ad is asked for
    steps.push(['vlan', proto === '802.1ad' ? { vlanList: vlanList(vf, vlan, qos, proto) } : { vlan: u32s(vf, vlan, qos) }])
  }
  if (change.spoofchk !== undefined) steps.push(['spoofchk', { spoofchk: u32s(vf, change.spoofchk ? 1 : 0) }])
  if (change.trust !== undefined) steps.push(['trust', { trust: u32s(vf, change.trust ? 1 : 0) }])
  if (change.linkState !== undefined) steps.push(['link_state', { linkState: u32s(vf, LINK_STATES.indexOf(change.linkState)) }])
  if (change.minTxRate !== undefined || change.maxTxRate !== undefined) {
    steps.push(['tx rate', { rate: u32s(vf, change.minTxRate ?? current!.minTxRate, change.maxTxRate ?? current!.maxTxRate) }])
  }
  return steps
}

export class NetlinkVfConfig {
  async read(pf: string, vf: number): Promise<VfState> {
    const sock = openRtnl()
    try {
      const msg = await getLink(sock, { name: pf }, [{ type: IFLA.EXT_MASK, value: u32s(RTEXT_FILTER_VF) }])
      if (!msg) throw new Error(`PF ${pf} not found (Request rejected: ENODEV)`)
      const list = parseVfInfoList(msg.attrs.get(IFLA.VFINFO_LIST)).filter((v) => v.mac).map(decodeVfInfo)
      const found = list.find((v) => v.index === vf)
      if (!found) throw new Error(`PF ${pf} reports no VF ${vf} (it lists ${list.length} VFs)`)
      return found.state
    } finally {
      closeRtnl(sock)
    }
  }

  async apply(pf: string, vf: number, change: Partial<VfState>): Promise<void> {
    const current = needsCurrent(change) ? await this.read(pf, vf) : undefined
    const steps = vfAttributeSteps(vf, change, current)
    const sock = openRtnl()
    try {
      for (const [what, attrs] of steps) {
        try {
          const vfAttrs = Object.entries(attrs).flatMap(([k, v]) => (v ? [{ type: VF_ATTR[k], value: v }] : []))
          await setLink(sock, 0, [{ type: IFLA.IFNAME, value: cString(pf) }, { type: IFLA.VFINFO_LIST, value: [{ type: IFLA_VF_INFO, value: vfAttrs }] }])
        } catch (e) {
          throw new Error(`setting ${what} of VF ${vf} on PF ${pf} failed: ${(e as Error).message}`)
        }
      }
    } finally {
      closeRtnl(sock)
    }
  }
}
