import t from 'tap'
import { parseConfig } from '../../deviceplugin/config'

const one = (selectors: object) => parseConfig(JSON.stringify({ resourceList: [{ resourceName: 'a', selectors }] }), 'intel.com')

t.test('rootDevices and pciAddresses entries that are no PCI address are config errors naming resource and field', async (t) => {
  t.throws(() => one({ rootDevices: [' 02:00.1'] }), { message: 'resource "a".selectors.rootDevices: " 02:00.1" is not a PCI address such as 0000:02:00.1 or 02:00.1 (it has white space around it)' })
  t.throws(() => one({ pciAddresses: ['0000:02:10.0 '] }), /resource "a"\.selectors\.pciAddresses: "0000:02:10\.0 " is not a PCI address .* \(it has white space around it\)/)
  t.throws(() => one({ rootDevices: ['ens1f0#0-3'] }), /resource "a"\.selectors\.rootDevices: "ens1f0#0-3" is not a PCI address/)
  t.throws(() => one({ pciAddresses: ['0000:02:10.8'] }), /pciAddresses: "0000:02:10\.8" is not a PCI address/)
  t.throws(() => parseConfig(JSON.stringify({ resourceList: [{ resourceName: 'b', rootDevices: ['02:00.0', '2:00.1'] }] }), 'intel.com'), /resource "b"\.selectors\.rootDevices: "2:00\.1" is not a PCI address/)
})

t.test('PCI addresses in every form the Go plugin reads', async (t) => {
  const [r] = one({ rootDevices: ['02:00.0', '0001:03:00.1#0-1', '0A:00.0#2'], pciAddresses: ['0000:3B:10.7'] })
  t.same(r.selectors[0].rootDevices!.map((e) => e.written), ['0000:02:00.0', '0001:03:00.1#0-1', '0000:0a:00.0#2'])
  t.same(r.selectors[0].pciAddresses, ['0000:3b:10.7'])
})
