import t from 'tap'
import { ipamType } from '../../cni/ipam'
import { logSettings } from '../../cni/log-settings'
import { parseSriovConfig, requestedVfState } from '../../cni/config'
import { parseNetConf } from '../../protocol/netconf'

const parse = (extra: object, args: Record<string, string> = {}) =>
  parseSriovConfig(parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'sriov', deviceID: '0000:01:10.1', ...extra })), { args })

t.test('the users\' NAD config parses to what ADD applies', async (t) => {
  const c = parse({ vlan: 201, vlanQoS: 2, vlanProto: '802.1AD', mac: '02:AA:00:00:00:01', spoofchk: 'off', trust: 'on', link_state: 'enable', min_tx_rate: 100, max_tx_rate: 1000, ipam: { type: 'host-local' } })
  t.same(requestedVfState(c), { vlan: 201, qos: 2, proto: '802.1ad', mac: '02:aa:00:00:00:01', spoofchk: false, trust: true, linkState: 'enable', minTxRate: 100, maxTxRate: 1000 })
  t.equal(ipamType(c.netConf.raw), 'host-local')
  t.same(requestedVfState(parse({})), {}, 'no field: the VF is left as it is')
  t.same(requestedVfState(parse({ vlan: 0 })), { vlan: 0, qos: 0, proto: '802.1q' })
  t.equal(parse({ runtimeConfig: { deviceID: '0000:01:10.3' } }).deviceID, '0000:01:10.3')
  t.equal(parse({ max_tx_rate: 0, min_tx_rate: 50 }).minTxRate, 50, 'max 0 means unlimited')
})

t.test('every invalid field is code 7 and named', async (t) => {
  const cases: [object, RegExp][] = [
    [{ deviceID: undefined }, /missing deviceID/],
    [{ deviceID: '01:10.1' }, /invalid deviceID "01:10\.1"/],
    [{ deviceID: 5 }, /deviceID/],
    [{ vlan: 4095 }, /invalid vlan: 4095 must be an integer from 0 to 4094/],
    [{ vlan: -1 }, /invalid vlan/],
    [{ vlan: '201' }, /invalid vlan/],
    [{ vlanQoS: 3 }, /invalid vlanQoS: needs "vlan"/],
    [{ vlan: 1, vlanQoS: 8 }, /invalid vlanQoS: 8/],
    [{ vlanProto: '802.1q' }, /invalid vlanProto: needs "vlan"/],
    [{ vlan: 1, vlanProto: 'qinq' }, /invalid vlanProto: "qinq"/],
    [{ vlan: 0, vlanProto: '802.1ad' }, /802\.1ad needs a non-zero vlan/],
    [{ vlan: 0, vlanQoS: 3 }, /invalid vlanQoS: 3 needs a non-zero vlan/],
    [{ mtu: 67 }, /invalid mtu: 67 must be an integer from 68 to 65535/],
    [{ mtu: '9000' }, /invalid mtu/],
    [{ mac: '02:00:00:00:00' }, /invalid mac: "02:00:00:00:00" is not a MAC address/],
    [{ mac: '01:00:5e:00:00:01' }, /invalid mac: 01:00:5e:00:00:01 is a multicast address/],
    [{ mac: 'ff:ff:ff:ff:ff:ff' }, /invalid mac: ff:ff:ff:ff:ff:ff is a multicast address/],
    [{ mac: '00:00:00:00:00:00' }, /invalid mac: 00:00:00:00:00:00 is all zeros/],
    [{ runtimeConfig: { mac: 'zz' } }, /invalid runtimeConfig\.mac/],
    [{ spoofchk: 'yes' }, /invalid spoofchk: "yes" must be "on" or "off"/],
    [{ trust: true }, /invalid trust/],
    [{ link_state: 'up' }, /invalid link_state: "up"/],
    [{ min_tx_rate: 200, max_tx_rate: 100 }, /invalid min_tx_rate: 200 is above max_tx_rate 100/],
    [{ max_tx_rate: 1.5 }, /invalid max_tx_rate/],
    [{ ipam: { type: 5 } }, /invalid ipam\.type/],
    [{ runtimeConfig: { deviceID: 5 } }, /invalid runtimeConfig\.deviceID: 5 must be a string/],
  ]
  for (const [extra, msg] of cases) t.throws(() => parse(extra), { code: 7, message: msg }, msg.source)
  t.throws(() => parse({}, { MAC: 'nope' }), { code: 7, message: /CNI_ARGS MAC/ })
  // a number JSON.stringify cannot write back (it would say null) is shown as it parsed (red team)
  const huge = '{"cniVersion":"1.0.0","name":"n","type":"sriov","deviceID":"0000:01:10.1","vlan":1e400}'
  t.throws(() => parseSriovConfig(parseNetConf(huge), { args: {} }), { code: 7, message: /invalid vlan: Infinity must be an integer from 0 to 4094/ })
})

t.test('MACs in every 6-byte form Go\'s net.ParseMAC takes, as sriov-cni does: colons, hyphens, dotted (red team)', async (t) => {
  for (const mac of ['02-AA-bb-00-00-01', '02aa.bb00.0001', '02:aa:BB:00:00:01']) t.equal(parse({ mac }).mac, '02:aa:bb:00:00:01', mac)
  for (const mac of ['02aa.bb00.00.01', '02-aa:bb-00-00-01', '02:aa:bb:00:00:01:02:03']) t.throws(() => parse({ mac }), { code: 7, message: /is not a MAC address/ }, mac)
  t.throws(() => parse({ mac: '0100.5e00.0001' }), { code: 7, message: /multicast/ })
})

t.test('vlan 0 with vlanQoS 0 (the seeds\' KubeVirt NAD) is accepted; mtu is read', async (t) => {
  t.match(parse({ vlan: 0, vlanQoS: 0 }), { vlan: 0, vlanQoS: 0 })
  t.equal(parse({ mtu: 9000 }).mtu, 9000)
})

t.test('an ipam object without a type means no IPAM, as in sriov-cni (the operator renders "ipam": {})', async (t) => {
  for (const ipam of [{}, { type: '' }, { dataDir: '/x' }]) t.equal(ipamType(parse({ ipam }).netConf.raw), undefined, JSON.stringify(ipam))
})

t.test('logLevel and logFile as sriov-cni reads them: any case, unknown level is info, relative file is stderr; never an error', async (t) => {
  t.match(logSettings({ logLevel: 'DEBUG' }), { level: 'debug', warnings: [] })
  t.match(logSettings({ logLevel: 'Warning' }), { level: 'warning', warnings: [] })
  t.match(logSettings({ logLevel: 'verbose' }), { level: 'debug' })
  t.match(logSettings({ logLevel: 'loud' }), { level: 'info', warnings: [/logLevel "loud".*info/] })
  t.match(logSettings({ logLevel: 3 }), { level: 'info', warnings: [/logLevel 3/] })
  t.match(logSettings({ logFile: 'relative.log' }), { file: undefined, warnings: [/not an absolute path: logging to stderr/] })
  t.match(logSettings({ logFile: '/var/log/sriov.log' }), { file: '/var/log/sriov.log', warnings: [] })
  t.match(logSettings({}), { level: 'info', file: undefined, warnings: [] })
  t.doesNotThrow(() => parse({ logLevel: 'loud', logFile: 'x.log' }))
})
