import t from 'tap'
import { ConfigError, parseConfig } from '../../deviceplugin/config'
import { matchesSelector } from '../../deviceplugin/selectors'
import { parseIndexRanges } from '../../deviceplugin/vf-index-ranges'
import type { PciDevice } from '../../host/pci'

const withPfNames = (pfNames: string[]) => JSON.stringify({ resourceList: [{ resourceName: 'net_a', selectors: { pfNames } }] })
const vf = (i: number): PciDevice => ({
  pci: '0000:01:10.1', vendor: '8086', device: '1515', classCode: 0x020000, driver: 'ixgbevf', numaNode: 0, numVfs: 0, totalVfs: 0, netdevs: [], uioDevices: [], rdma: false, pKeys: [],
  pfPci: '0000:01:00.0', pfName: 'ens1f0', vfIndex: i,
})

t.test('VF indexes beyond what SR-IOV allows (65535 VFs, indexes 0-65534) are config errors naming resource and field', async (t) => {
  const range = 'VF indexes run from 0 to 65534 (a PF has at most 65535 VFs), sub-function numbers from 0 to 4294967295'
  for (const entry of ['ens1f0#0-3000000', 'ens1f0#65535', 'ens1f0#0-99999999999999999999999', `ens1f0#0-${'9'.repeat(400)}`]) {
    t.throws(() => parseConfig(withPfNames([entry]), 'intel.com'), new ConfigError(''), entry.slice(0, 30))
    t.throws(() => parseConfig(withPfNames([entry]), 'intel.com'), { message: /^resource "net_a"\.selectors\.pfNames: (VF )?index "?\d+(\.\.\.)?"? in "ens1f0#0?-?\d+(\.\.\.)?" is out of range: / })
  }
  t.throws(() => parseConfig(withPfNames(['ens1f0#0-3000000']), 'intel.com'), { message: `resource "net_a".selectors.pfNames: VF index 3000000 in "ens1f0#0-3000000" is out of range: ${range}` })
  t.throws(() => parseConfig(JSON.stringify({ resourceList: [{ resourceName: 'b', rootDevices: ['02:00.0#70000'] }] }), 'intel.com'), /resource "b"\.selectors\.rootDevices: VF index 70000/)
  // an auxNetDevice resource's ranges are over sub-function numbers, which are 32-bit
  const sf = (n: string) => JSON.stringify({ resourceList: [{ resourceName: 'sf', deviceType: 'auxNetDevice', selectors: { auxTypes: ['sf'], pfNames: [`p0#${n}`] } }] })
  t.doesNotThrow(() => parseConfig(sf('0-4294967295'), 'intel.com'))
  t.throws(() => parseConfig(sf('4294967296'), 'intel.com'), /resource "sf"\.selectors\.pfNames: index "4294967296" in "p0#4294967296" is out of range/)
})

t.test('the full range is kept as one interval, never expanded; overlapping parts merge', async (t) => {
  const [r] = parseConfig(withPfNames(['ens1f0#0-65534']), 'intel.com')
  t.ok(matchesSelector(vf(65534), r.selectors[0]))
  t.ok(matchesSelector(vf(0), r.selectors[0]))
  t.same(parseIndexRanges('ens1f0#0-65534', 'x').indexes!.intervals, [[0, 65534]])
  const { indexes } = parseIndexRanges('ens1f0#9,5-7,0,1,8,20-30,25-40', 'x')
  t.same(indexes!.intervals, [[0, 1], [5, 9], [20, 40]], 'sorted, adjacent and overlapping parts merged')
  t.same([0, 1, 2, 4, 5, 9, 10, 19, 20, 40, 41].map((i) => indexes!.has(i)), [true, true, false, false, true, true, false, false, true, true, false])
  const every = parseIndexRanges(`x#${Array.from({ length: 32768 }, (_, i) => 2 * i).join(',')}`, 'x').indexes!
  t.equal(every.intervals.length, 32768, 'the most disjoint intervals an entry can name')
  t.ok(every.has(65534) && !every.has(65533))
})
