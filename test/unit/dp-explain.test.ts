import t from 'tap'
import type { PciDevice } from '../../host/pci'
import { parseConfig } from '../../deviceplugin/config'
import { explain, formatExplanation } from '../../deviceplugin/explain'
import { assignDevices } from '../../deviceplugin/selectors'

const dev = (pci: string, o: Partial<PciDevice> = {}): PciDevice => ({
  pci, vendor: '8086', device: '1515', classCode: 0x020000, driver: 'ixgbevf', numaNode: 0, numVfs: 0, totalVfs: 0, netdevs: [], uioDevices: [], rdma: false, pKeys: [], ...o,
})
const parse = (o: object) => parseConfig(JSON.stringify(o), 'intel.com')
const up = { index: 1, up: true, carrier: true }

// a node with one of each case: a PF with VFs, VFs of a PF without carrier, a DPDK VF, the default-route NIC, a QAT VF
const devices = [
  dev('0000:01:00.0', { driver: 'ixgbe', device: '1528', numVfs: 2, totalVfs: 63, netdevs: ['eno2'] }),
  dev('0000:01:10.1', { pfPci: '0000:01:00.0', pfName: 'eno2', vfIndex: 0, netdevs: ['eno2v0'] }),
  dev('0000:01:10.3', { pfPci: '0000:01:00.0', pfName: 'eno2', vfIndex: 1, driver: 'vfio-pci' }),
  dev('0000:02:00.0', { driver: 'e1000e', device: '10d3', netdevs: ['eno1'] }),
  dev('0000:03:00.0', { driver: 'mlx5_core', vendor: '15b3', device: '1017', totalVfs: 8 }), // a PF without a netdev
  dev('0000:03:00.2', { driver: 'mlx5_core', vendor: '15b3', device: '1018', pfPci: '0000:03:00.0', vfIndex: 0 }),
  dev('0000:3d:01.0', { classCode: 0x0b4000, device: '37c9', driver: 'c6xxvf' }),
]
const view = { devices, links: new Map([['eno2', { ...up, carrier: false }], ['eno1', up]]), defaultRoute: new Set(['eno1']) }

t.test('each first reason: selector, no netdev, deviceType, PF with VFs, default route, taken, unhealthy', async (t) => {
  const resources = parse({
    resourceList: [
      { resourceName: 'kernel', selectors: { drivers: ['ixgbevf'] } },
      { resourceName: 'all', selectors: { vendors: ['8086'] } },
      { resourceName: 'named', selectors: [{ pfNames: ['ens3f0'] }, { linkTypes: ['ether'] }] },
      { resourceName: 'qat', deviceType: 'accelerator', selectors: { devices: ['37c9'] } },
    ],
  })
  const e = explain(view, resources, [])
  const reason = (res: string, pci: string) => e.resources.find((r) => r.resource === `intel.com/${res}`)!.functions.find((f) => f.pci === pci)
  t.match(reason('kernel', '0000:01:10.1'), { offered: true, healthy: false, reason: { kind: 'unhealthy', text: 'offered, unhealthy: PF eno2 has no carrier' } })
  t.match(reason('kernel', '0000:01:10.3'), { offered: false, reason: { kind: 'selector', field: 'selectors.drivers', read: 'vfio-pci', wanted: ['ixgbevf'] } })
  t.match(reason('all', '0000:01:00.0'), { offered: false, reason: { kind: 'pf-with-vfs' } })
  t.match(reason('all', '0000:02:00.0'), { offered: false, reason: { kind: 'default-route', text: "eno1 carries the node's default route" } })
  t.match(reason('all', '0000:01:10.1'), { offered: false, reason: { kind: 'taken', by: 'intel.com/kernel' } })
  t.match(reason('all', '0000:01:10.3'), { offered: true }, 'the DPDK VF: nobody before takes it')
  t.match(reason('named', '0000:03:00.2'), { offered: false, reason: { kind: 'no-netdev', field: 'selectors[0].pfNames', text: /selectors\[0\]\.pfNames: its PF 0000:03:00\.0 has no netdev to read \(wanted ens3f0\); selectors\[1\]\.linkTypes: it has no netdev/ } })
  t.match(reason('qat', '0000:3d:01.0'), { offered: true, healthy: true })
  t.notOk(reason('kernel', '0000:3d:01.0'), 'a non-network function is not listed under a netDevice resource')
  t.equal(e.functions.length, 7, 'the QAT VF is listed too: an accelerator resource considers it')
  const acc = parse({ resourceList: [{ resourceName: 'q', deviceType: 'netDevice', selectors: { devices: ['37c9'] } }] })
  t.notOk(explain(view, acc, []).resources[0].functions.some((f) => f.pci === '0000:3d:01.0'), 'nor under a netDevice resource that names it')
  t.match(formatExplanation(e, '/etc/pcidp/config.json'), /intel\.com\/kernel: 1 offered, 0 healthy \(kubelet allocatable 0\)\n  0000:01:00\.0/)
})

t.test('offered in the explanation is exactly what the plugin assigns', async (t) => {
  const configs = [
    { resourceList: [{ resourceName: 'a', selectors: { vendors: ['8086'] } }, { resourceName: 'b', selectors: { drivers: ['vfio-pci', 'mlx5_core'] } }] },
    { resourceList: [{ resourceName: 'a', selectors: [{ rootDevices: ['01:00.0#1'] }, { vendors: ['15b3'] }] }, { resourceName: 'q', deviceType: 'accelerator', selectors: {} }] },
  ]
  for (const cfg of configs) {
    const resources = parse(cfg)
    const assigned = assignDevices(devices, resources, view.defaultRoute)
    for (const r of explain(view, resources, []).resources) {
      t.same(r.functions.filter((f) => f.offered).map((f) => f.pci), assigned.get(r.resource)!.map((d) => d.pci), `${r.resource}`)
    }
  }
})
