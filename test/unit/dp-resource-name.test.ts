import t from 'tap'
import { parseConfig } from '../../deviceplugin/config'

const one = (r: object) => parseConfig(JSON.stringify({ resourceList: [r] }), 'intel.com')

t.test('names kubelet accepts: a name part of up to 63 characters', async (t) => {
  const name = `n${'x'.repeat(61)}9`
  t.equal(one({ resourceName: name, selectors: { drivers: ['ixgbevf'] } })[0].resourceName, name)
  t.equal(one({ resourceName: 'a-b_c', resourcePrefix: 'nvidia.com', selectors: {} })[0].resourcePrefix, 'nvidia.com')
})

t.test('names kubelet refuses are config errors naming the resource and the field', async (t) => {
  const long = 'n'.repeat(64)
  t.throws(() => one({ resourceName: long, selectors: {} }), { message: /^resource "n{64}"\.resourceName: "n{64}" has 64 characters; kubelet accepts at most 63$/ })
  t.throws(() => one({ resourceName: 'n'.repeat(300), selectors: {} }), { message: /\.resourceName: "n{70}\.\.\." has 300 characters/ })
  for (const bad of ['_net', 'net-', '-net']) t.throws(() => one({ resourceName: bad, selectors: {} }), { message: `resource "${bad}".resourceName: "${bad}" must start and end with a letter or digit (kubelet refuses it otherwise)` })
  t.throws(() => one({ resourceName: 'a', resourcePrefix: 'kubernetes.io', selectors: {} }), { message: /resource "a"\.resourcePrefix: "kubernetes\.io" is kubelet's own namespace/ })
  t.throws(() => one({ resourceName: 'a', resourcePrefix: 'x.kubernetes.io', selectors: {} }), /resourcePrefix: "x\.kubernetes\.io" is kubelet's own namespace/)
  t.throws(() => one({ resourceName: 'a', resourcePrefix: 'a..b', selectors: {} }), /resource "a"\.resourcePrefix: "a\.\.b" is not a DNS subdomain/)
  t.doesNotThrow(() => one({ resourceName: 'a', resourcePrefix: `${'p'.repeat(60)}.${'p'.repeat(60)}.${'p'.repeat(60)}.${'p'.repeat(40)}.com`, selectors: {} }), 'a prefix of 228 characters and a name of 1 fit the device-info file name')
  // red team 9: kubelet takes a prefix of 244 characters, but Allocate then failed every time (ENAMETOOLONG)
  t.throws(() => one({ resourceName: 'a', resourcePrefix: `${'p'.repeat(60)}.${'p'.repeat(60)}.${'p'.repeat(60)}.${'p'.repeat(56)}.com`, selectors: {} }), /resource "a"\.resourcePrefix: .* and the resourceName have 244 characters together; the device-info file .* holds at most 229/)
  t.throws(() => one({ resourceName: 'a', resourcePrefix: `${'p'.repeat(241)}.com`, selectors: {} }), /resource "a"\.resourcePrefix: .* has 245 characters; kubelet accepts at most 244/)
})

t.test('a resource without a name says the name is missing (red team 9: "undefined must match ...")', async (t) => {
  for (const r of [{ selectors: {} }, { resourceName: null, selectors: {} }]) {
    t.throws(() => one(r), { message: /^resourceList\[0\]\.resourceName: missing; every resource needs a name/ })
  }
})
