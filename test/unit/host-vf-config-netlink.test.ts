// The IFLA_VF_* encoding that only the VM tier exercises against a real PF: checked here byte by byte
// against the kernel's structs (include/uapi/linux/if_link.h).
import t from 'tap'
import { decodeVfInfo, needsCurrent, vfAttributeSteps } from '../../host/vf-config-netlink'
import { DEFAULT_VF_STATE } from '../../host/vf-state'

const u32 = (b: Buffer, i: number) => b.readUInt32LE(i * 4)

t.test('802.1q VLAN: IFLA_VF_VLAN {vf, vlan, qos}', async (t) => {
  const [[what, attrs]] = vfAttributeSteps(3, { vlan: 201, qos: 5, proto: '802.1q' })
  t.equal(what, 'vlan')
  t.same(Object.keys(attrs), ['vlan'])
  t.same([u32(attrs.vlan!, 0), u32(attrs.vlan!, 1), u32(attrs.vlan!, 2)], [3, 201, 5])
})

t.test('802.1ad VLAN: IFLA_VF_VLAN_LIST with one 16-byte ifla_vf_vlan_info, protocol big-endian 0x88a8', async (t) => {
  const [[, attrs]] = vfAttributeSteps(2, { vlan: 300, qos: 1, proto: '802.1ad' })
  const list = attrs.vlanList!
  t.equal(list.length, 4 + 16, 'one nested attribute: 4-byte header + struct ifla_vf_vlan_info (with padding)')
  t.equal(list.readUInt16LE(0), 20, 'nla_len')
  t.equal(list.readUInt16LE(2), 1, 'nla_type IFLA_VF_VLAN_INFO')
  t.same([list.readUInt32LE(4), list.readUInt32LE(8), list.readUInt32LE(12)], [2, 300, 1])
  t.equal(list.readUInt16BE(16), 0x88a8)
})

t.test('a QoS or protocol change keeps the VLAN it does not name, from the current state', async (t) => {
  t.ok(needsCurrent({ qos: 2 }))
  t.notOk(needsCurrent({ mac: '02:00:00:00:00:01', trust: true }))
  const [[, attrs]] = vfAttributeSteps(0, { qos: 2 }, { ...DEFAULT_VF_STATE, vlan: 55 })
  t.same([u32(attrs.vlan!, 1), u32(attrs.vlan!, 2)], [55, 2])
})

t.test('MAC, spoof check, trust, link state and rates, one request each', async (t) => {
  const steps = vfAttributeSteps(1, { mac: '02:aa:bb:cc:dd:ee', spoofchk: false, trust: true, linkState: 'disable', minTxRate: 10 }, { ...DEFAULT_VF_STATE, maxTxRate: 100 })
  t.same(steps.map(([w]) => w), ['mac', 'spoofchk', 'trust', 'link_state', 'tx rate'])
  const by = Object.fromEntries(steps)
  t.equal(by.mac.mac!.length, 4 + 32, 'struct ifla_vf_mac: u32 vf + 32-byte address')
  t.equal(by.mac.mac!.subarray(4, 10).toString('hex'), '02aabbccddee')
  t.same([u32(by.spoofchk.spoofchk!, 0), u32(by.spoofchk.spoofchk!, 1)], [1, 0])
  t.same([u32(by.trust.trust!, 1)], [1])
  t.same([u32(by['link_state'].linkState!, 1)], [2], 'IFLA_VF_LINK_STATE_DISABLE')
  t.same([u32(by['tx rate'].rate!, 1), u32(by['tx rate'].rate!, 2)], [10, 100], 'min from the change, max kept')
})

t.test('decoding what the kernel reports, with its "not supported" (-1) settings as the driver defaults', async (t) => {
  const mac = Buffer.alloc(36)
  mac.writeUInt32LE(4, 0)
  Buffer.from('0200000000c9', 'hex').copy(mac, 4)
  const vlanList = Buffer.alloc(4 + 16)
  vlanList.writeUInt16BE(0x88a8, 16)
  const unsupported = Buffer.alloc(8)
  unsupported.writeUInt32LE(4, 0)
  unsupported.writeInt32LE(-1, 4)
  const rate = Buffer.alloc(12)
  rate.writeUInt32LE(5, 4)
  rate.writeUInt32LE(50, 8)
  const vlan = Buffer.alloc(12)
  vlan.writeUInt32LE(201, 4)
  vlan.writeUInt32LE(3, 8)
  const { index, state } = decodeVfInfo({ mac, vlan, vlanList, spoofchk: unsupported, trust: unsupported, rate })
  t.equal(index, 4)
  t.same(state, { ...DEFAULT_VF_STATE, mac: '02:00:00:00:00:c9', vlan: 201, qos: 3, proto: '802.1ad', minTxRate: 5, maxTxRate: 50 })
})
