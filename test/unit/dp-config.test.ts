import t from 'tap'
import type { PciDevice } from '../../host/pci'
import { parseConfig } from '../../deviceplugin/config'
import { preferredAllocation } from '../../deviceplugin/preferred'
import { assignDevices, matchesSelector } from '../../deviceplugin/selectors'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { allocateContainer, envName } from '../../deviceplugin/allocation'
import { parseIndexRanges } from '../../deviceplugin/vf-index-ranges'

const entries = (...written: string[]) => written.map((w) => parseIndexRanges(w, 'test'))

const parse = (o: object) => parseConfig(JSON.stringify(o), 'intel.com')

t.test('the seed config, selector arrays, prefixes and the 2019 form', async (t) => {
  const [r] = parse({ resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: { vendors: ['8086'], devices: ['1515'], drivers: ['ixgbevf'] } }] })
  t.match(r, { resourceName: 'intel_sriov_netdevice', resourcePrefix: 'intel.com', deviceType: 'netDevice', selectors: [{ vendors: ['8086'] }] })
  const [old] = parse({ resourceList: [{ resourceName: 'sriov_net_A', rootDevices: ['02:00.0'], sriovMode: true, deviceType: 'netdevice' }] })
  t.match(old, { deviceType: 'netDevice', selectors: [{ rootDevices: [{ written: '0000:02:00.0', name: '0000:02:00.0' }] }] })
  const [multi] = parse({ resourceList: [{ resourceName: 'a', resourcePrefix: 'example.com', selectors: [{ vendors: ['0x15B3'] }, { drivers: ['mlx5_core'], IsRdma: true }] }] })
  t.match(multi, { resourcePrefix: 'example.com', selectors: [{ vendors: ['15b3'] }, { drivers: ['mlx5_core'], isRdma: true }] })
  t.equal(envName(multi), 'PCIDEVICE_EXAMPLE_COM_A')
})

t.test('short PCI addresses (domain 0000) in rootDevices and pciAddresses; the 2019 seed verbatim', async (t) => {
  const [r] = parse({ resourceList: [{ resourceName: 'a', selectors: { rootDevices: ['02:00.0', '0000:03:00.1#0-1', '0A:00.0#2'], pciAddresses: ['02:10.0', '0000:02:10.4'] } }] })
  t.same(r.selectors[0].rootDevices!.map((e) => e.written), ['0000:02:00.0', '0000:03:00.1#0-1', '0000:0a:00.0#2'])
  t.same(r.selectors[0].pciAddresses, ['0000:02:10.0', '0000:02:10.4'])
  const seed = parseConfig(fs.readFileSync(path.join(__dirname, '../fixtures/seed-configs/sriovdp-config-2019-rootdevices.json'), 'utf8'), 'intel.com')
  t.match(seed, [
    { resourceName: 'sriov_net_A', deviceType: 'netDevice', selectors: [{ rootDevices: [{ written: '0000:02:00.0' }, { written: '0000:02:00.2' }] }] },
    { resourceName: 'sriov_net_B', deviceType: 'netDevice', selectors: [{ rootDevices: [{ written: '0000:02:00.1' }, { written: '0000:02:00.3' }] }] },
  ])
})

t.test('unknown keys are warned about, naming the resource and the key, and ignored', async (t) => {
  const warnings: string[] = []
  const [r] = parseConfig(JSON.stringify({ resourceList: [{ resourceName: 'a', sriovMode: true, selectors: { vendors: ['8086'], vendor: ['15b3'] } }], extra: 1 }), 'intel.com', warnings)
  t.same(r.selectors, [{ vendors: ['8086'] }])
  t.same(warnings, ['config: unknown key "extra" ignored', 'resource "a": unknown key "sriovMode" ignored', 'resource "a".selectors: unknown key "vendor" ignored'])
  const legacy: string[] = []
  parseConfig(JSON.stringify({ resourceList: [{ resourceName: 'b', rootDevices: ['02:00.0'], sriovMode: true, deviceType: 'netdevice' }] }), 'intel.com', legacy)
  t.same(legacy, ['resource "b": unknown key "sriovMode" ignored'], 'the 2019 form: only the key that is neither a resource field nor a selector')
})

t.test('errors name the resource and the field', async (t) => {
  const cases: [object, RegExp][] = [
    [{}, /"resourceList" must be a list/],
    [{ resourceList: [{ resourceName: 'bad name' }] }, /resource "bad name"\.resourceName: "bad name" must match/],
    [{ resourceList: [{ resourceName: 7 }] }, /resourceList\[0\]\.resourceName/],
    [{ resourceList: [{ resourceName: 'a', deviceType: 'gpu' }] }, /resource "a"\.deviceType: "gpu"/],
    [{ resourceList: [{ resourceName: 'a', selectors: [{}, { drivers: 'x' }] }] }, /resource "a"\.selectors\[1\]\.drivers: expected a list of strings/],
    [{ resourceList: [{ resourceName: 'a', selectors: { pfNames: ['eno1#a-b'] } }] }, /resource "a"\.selectors\.pfNames: invalid VF index range "a-b"/],
    [{ resourceList: [{ resourceName: 'a' }, { resourceName: 'a' }] }, /intel\.com\/a is defined twice/],
    [{ resourceList: [{ resourceName: 'a', resourcePrefix: 'Bad_Prefix' }] }, /resourcePrefix/],
    [{ resourceList: [{ resourceName: 'a', selectors: { isRdma: 'yes' } }] }, /isRdma: expected true or false/],
    [{ resourceList: [{ resourceName: 'a', selectors: null }] }, /resource "a"\.selectors: expected an object/],
  ]
  for (const [cfg, msg] of cases) t.throws(() => parse(cfg), msg)
  t.throws(() => parseConfig('{', 'intel.com'), /config is not valid JSON/)
})

t.test('a 2019-form selector beside "selectors" is refused, naming it: ignored, the resource would take more than meant', async (t) => {
  for (const field of ['rootDevices', 'pciAddresses', 'pfNames', 'drivers']) {
    const r = { resourceName: 'a', selectors: { vendors: ['8086'] }, [field]: field === 'pfNames' || field === 'drivers' ? ['x'] : ['02:00.0'] }
    t.throws(() => parse({ resourceList: [r] }), { message: `resource "a".${field}: a selector written at the resource level (the 2019 form) beside "selectors"; move it into "selectors"` })
  }
  t.match(parse({ resourceList: [{ resourceName: 'a', rootDevices: ['02:00.0'] }] }), [{ selectors: [{ rootDevices: [{ written: '0000:02:00.0' }] }] }], 'without "selectors" it is the 2019 form')
})

const dev = (pci: string, o: Partial<PciDevice> = {}): PciDevice => ({
  pci, vendor: '8086', device: '1515', classCode: 0x020000, driver: 'ixgbevf', numaNode: 0, numVfs: 0, totalVfs: 0, netdevs: [], uioDevices: [], rdma: false, pKeys: [], ...o,
})

t.test('rootDevices selects VFs of the named PF, never the PF itself (with or without VFs)', async (t) => {
  const s = { rootDevices: entries('0000:02:00.0') }
  t.ok(matchesSelector(dev('0000:02:10.0', { pfPci: '0000:02:00.0', pfName: 'enp2s0f0', vfIndex: 0 }), s), 'its VF')
  t.notOk(matchesSelector(dev('0000:02:00.0', { driver: 'igb', netdevs: ['enp2s0f0'] }), s), 'the PF without VFs')
  t.notOk(matchesSelector(dev('0000:02:10.1', { pfPci: '0000:02:00.1', pfName: 'enp2s0f1', vfIndex: 0 }), s), 'a VF of another PF')
})

t.test('pfNames and rootDevices with VF index ranges; PFs never match pfNames', async (t) => {
  const vf = (i: number, pf = 'ENS1F0') => dev(`0000:01:10.${i}`, { pfPci: '0000:01:00.0', pfName: pf, vfIndex: i })
  const s = { pfNames: entries('ens1f0#0,2-3') }
  t.same([0, 1, 2, 3, 4].map((i) => matchesSelector(vf(i), s)), [true, false, true, true, false], 'ranges, case-insensitive names')
  t.notOk(matchesSelector(dev('0000:01:00.0', { netdevs: ['ens1f0'] }), { pfNames: entries('ens1f0') }), 'the PF itself')
  t.ok(matchesSelector(vf(5), { rootDevices: entries('0000:01:00.0#5') }))
  t.notOk(matchesSelector(vf(6), { rootDevices: entries('0000:01:00.0#5') }))
  t.notOk(matchesSelector(vf(1), { vendors: ['8086'], drivers: ['vfio-pci'] }), 'AND across fields')
  t.ok(matchesSelector(vf(1), { drivers: ['vfio-pci', 'ixgbevf'] }), 'OR within a field')
  t.ok(matchesSelector(dev('0000:03:00.1', { rdma: true }), { isRdma: true }))
  t.ok(matchesSelector(dev('0000:03:00.1', { pKeys: ['0x8001'] }), { pKeys: ['0x8001'] }))
  t.notOk(matchesSelector(vf(1), { ddpProfiles: ['GTP'] }), 'DDP profiles cannot be read here: nothing matches')
})

t.test('first resource wins; PFs with VFs and default-route devices are never offered', async (t) => {
  const resources = parse({ resourceList: [{ resourceName: 'first', selectors: { drivers: ['ixgbevf'] } }, { resourceName: 'second', selectors: { vendors: ['8086'] } }] })
  const out = assignDevices([dev('0000:01:10.1'), dev('0000:01:00.0', { driver: 'ixgbe', numVfs: 8 }), dev('0000:02:00.0', { driver: 'e1000e', netdevs: ['eth0'] }), dev('0000:02:00.1', { driver: 'e1000e' })], resources, new Set(['eth0']))
  t.same(out.get('intel.com/first')!.map((d) => d.pci), ['0000:01:10.1'])
  t.same(out.get('intel.com/second')!.map((d) => d.pci), ['0000:02:00.1'])
  const acc = parse({ resourceList: [{ resourceName: 'qat', deviceType: 'accelerator', selectors: { devices: ['37c9'] } }] })
  t.same(assignDevices([dev('0000:3d:01.0', { classCode: 0x0b4000, device: '37c9', driver: 'c6xxvf' })], acc, new Set()).get('intel.com/qat')!.length, 1, 'accelerators need not be net class')
})

t.test('preferred allocation: must-include, one NUMA node, pack or spread across PFs', async (t) => {
  const devs = [
    ...[0, 1, 2, 3].map((i) => dev(`0000:01:10.${i}`, { pfPci: 'pfA', numaNode: 0 })),
    ...[0, 1].map((i) => dev(`0000:02:10.${i}`, { pfPci: 'pfB', numaNode: 0 })),
    ...[0, 1, 2, 3, 4].map((i) => dev(`0000:81:10.${i}`, { pfPci: 'pfC', numaNode: 1 })),
  ]
  t.same(preferredAllocation(devs, [], 2, 'pack'), ['0000:02:10.0', '0000:02:10.1'], 'best fit: pfB holds exactly two, pfA stays whole')
  t.same(preferredAllocation(devs, ['0000:01:10.2'], 2, 'pack'), ['0000:01:10.2', '0000:01:10.0'], 'stays on the must-include PF')
  const spread = preferredAllocation(devs.filter((d) => d.numaNode === 0), [], 2, 'spread')
  t.same(spread, ['0000:01:10.0', '0000:02:10.0'], 'one VF from each PF')
  const five = preferredAllocation(devs, [], 5, 'pack')
  t.same(new Set(five.map((id) => devs.find((d) => d.pci === id)!.numaNode)).size, 1, 'a request one node can hold stays on it')
  t.same(new Set(preferredAllocation(devs, ['0000:81:10.0'], 3, 'pack').map((id) => id.slice(0, 7))), new Set(['0000:81']), 'NUMA node of the must-include device')
})

t.test('additionalInfo reaches the _INFO env: "*" for every device, a PCI address for one', async (t) => {
  const [r] = parse({ resourceList: [{ resourceName: 'a', selectors: { vendors: ['8086'] }, additionalInfo: { '*': { site: 'dc1', tier: 'x' }, '0000:01:10.1': { tier: 'gold' } } }] })
  const dir = fs.mkdtempSync(`${os.tmpdir()}/devinfo-`)
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const out = allocateContainer([dev('0000:01:10.1'), dev('0000:01:10.3')], r, { devinfoDir: dir, vhost: { vhostNet: false, tun: false } })
  const info = JSON.parse(out.envs.PCIDEVICE_INTEL_COM_A_INFO)
  t.same(info['0000:01:10.1'].extra, { site: 'dc1', tier: 'gold' })
  t.same(info['0000:01:10.3'].extra, { site: 'dc1', tier: 'x' })
  t.equal(out.envs.PCIDEVICE_INTEL_COM_A, '0000:01:10.1,0000:01:10.3')
})

t.test('keys as Go decodes them: any case, null as unset, the last of two spellings wins, unknown keys one warning each', async (t) => {
  const warnings: string[] = []
  const rs = parseConfig(JSON.stringify({
    ResourceList: [
      { ResourceName: 'a', RESOURCEPREFIX: 'example.com', ExcludeTopology: true, Selectors: { Vendors: ['8086'], PFNAMES: ['eno2#0-1'], IsRdma: false, NeedVhostNet: null }, SelectorObj: null },
      { resourceName: 'b', deviceType: null, selectors: { isRdma: true, IsRdma: false, drivers: null }, SelectorObj: null, sriovMode: true },
    ],
  }), 'intel.com', warnings)
  t.match(rs[0], { resourceName: 'a', resourcePrefix: 'example.com', excludeTopology: true, selectors: [{ vendors: ['8086'], pfNames: [{ written: 'eno2#0-1', name: 'eno2' }], isRdma: false }] })
  t.notOk('needVhostNet' in rs[0].selectors[0], 'null: unset')
  t.same(rs[1].selectors, [{ isRdma: false }], 'the later key wins; drivers: null is no list')
  t.equal(rs[1].deviceType, 'netDevice')
  t.same(warnings, ['resource "a", resource "b": unknown key "SelectorObj" ignored', 'resource "b": unknown key "sriovMode" ignored'])
  t.same(parseConfig('{"resourceList":null}', 'intel.com'), [], 'a node without policies, as the operator writes it')
  t.same(parseConfig('{"resourceLiſt":[{"resourceName":"k"}]}', 'intel.com').map((r) => r.resourceName), ['k'], 'Unicode simple folding: the long s is an s')
  t.throws(() => parseConfig('[]', 'intel.com'), /expected an object with "resourceList"/)
})

t.test('isRdma: only true selects (RDMA VFs); needVhostNet selects nothing', async (t) => {
  const rdma = dev('0000:03:00.1', { rdma: true })
  const plain = dev('0000:03:00.2')
  t.same([matchesSelector(rdma, { isRdma: false }), matchesSelector(plain, { isRdma: false })], [true, true], 'false: no filter, as in Go')
  t.same([matchesSelector(rdma, { isRdma: true }), matchesSelector(plain, { isRdma: true })], [true, false])
  t.ok(matchesSelector(plain, { needVhostNet: true }), 'needVhostNet: no filter, whether or not /dev/vhost-net exists')
})

t.test('needVhostNet adds /dev/vhost-net and /dev/net/tun for the VFs of the selector that chose them', async (t) => {
  const [r] = parse({ resourceList: [{ resourceName: 'v', selectors: [{ pciAddresses: ['0000:01:10.1'], needVhostNet: true }, { pciAddresses: ['0000:01:10.3'] }] }] })
  const dir = fs.mkdtempSync(`${os.tmpdir()}/devinfo-`)
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const both = { vhostNet: true, tun: true }
  const out = allocateContainer([dev('0000:01:10.1'), dev('0000:01:10.3')], r, { devinfoDir: dir, vhost: both })
  t.same(out.devices.map((d) => d.host_path), ['/dev/vhost-net', '/dev/net/tun'])
  const info = JSON.parse(out.envs.PCIDEVICE_INTEL_COM_V_INFO)
  t.same(info['0000:01:10.1'].vhost, { 'net-mount': '/dev/vhost-net', 'tun-mount': '/dev/net/tun' })
  t.notOk(info['0000:01:10.3'].vhost, 'chosen by the other selector: no vhost-net')
  t.same(out.warnings, [])
  const noTun = allocateContainer([dev('0000:01:10.1')], r, { devinfoDir: dir, vhost: { vhostNet: true, tun: false } })
  t.same([noTun.devices, Object.keys(JSON.parse(noTun.envs.PCIDEVICE_INTEL_COM_V_INFO)['0000:01:10.1'])], [[], ['generic', 'vhost']], 'no tun: the info, no device nodes (as Go)')
  t.match(noTun.warnings, [/\/dev\/net\/tun does not exist/])
  const none = allocateContainer([dev('0000:01:10.1')], r, { devinfoDir: dir, vhost: { vhostNet: false, tun: true } })
  t.same(none.devices, [])
  t.match(none.warnings, [/needVhostNet: \/dev\/vhost-net does not exist on this node/])
})

t.test('PCIDEVICE_ names: upper case, only dots become underscores (the Go plugin\'s names)', async (t) => {
  const [r] = parse({ resourceList: [{ resourceName: 'sriov-net_A', resourcePrefix: 'my-corp.example.com', selectors: {} }] })
  t.equal(envName(r), 'PCIDEVICE_MY-CORP_EXAMPLE_COM_SRIOV-NET_A')
})

t.test('an empty selector list filters nothing, as in the Go plugin (len > 0 decides)', async (t) => {
  const [r] = parse({ resourceList: [{ resourceName: 'a', selectors: { vendors: ['8086'], drivers: [], pfNames: [], pciAddresses: [] } }] })
  t.same(Object.keys(r.selectors[0]), ['vendors'], 'the empty lists are unset')
  t.ok(matchesSelector(dev('0000:01:10.1', { pfPci: '0000:01:00.0', pfName: 'ens1f0', vfIndex: 0 }), r.selectors[0]))
  t.throws(() => parse({ resourceList: [{ resourceName: 'sf', deviceType: 'auxNetDevice', selectors: { auxTypes: [] } }] }), /resource "sf"\.selectors\.auxTypes: an auxNetDevice resource needs auxTypes/)
})

t.test('additionalInfo is Go\'s map[string]map[string]string: anything else is a config error naming the entry', async (t) => {
  const info = (additionalInfo: unknown) => parse({ resourceList: [{ resourceName: 'ai', selectors: { vendors: ['8086'] }, additionalInfo }] })[0].additionalInfo
  t.throws(() => info({ '*': 'notanobject' }), { message: 'resource "ai".additionalInfo["*"]: expected an object of strings' })
  t.throws(() => info({ '0000:04:10.0': { k: 5 } }), { message: 'resource "ai".additionalInfo["0000:04:10.0"].k: expected a string, got 5' })
  t.throws(() => info(['x']), /resource "ai"\.additionalInfo: expected an object/)
  t.same(info({ '*': null, '0000:04:10.0': { n: null, k: 'v' } }), { '0000:04:10.0': { n: '', k: 'v' } }, 'null read as Go reads it')
  const proto = info(JSON.parse('{"__proto__": {"polluted": "yes"}}'))
  t.same(Object.keys(proto), ['__proto__'], 'a "__proto__" key stays a key')
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})
