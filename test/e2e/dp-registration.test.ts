// Classic registration with a kubelet that never answers Register (hung, or overloaded): every resource is
// registered on its own, side by side, each with its own deadline, not one after the other behind the hung
// one; and a kubelet that answers again gets them all.
import t from 'tap'
import { buildFakeSysfs, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { dpRun, freePort } from '../helpers/sriovdp'

const RESOURCES = ['net_a', 'net_b', 'net_c']

t.test('a kubelet whose Register hangs receives every resource before any registration gives up', async (t) => {
  const dp = dpRun(t, { resourceList: RESOURCES.map((name, i) => ({ resourceName: name, selectors: { pciAddresses: [x540().vfs[i].pci] } })) })
  buildFakeSysfs(dp.sysfs, [x540()])
  const hung = new KubeletStandIn(dp.dpDir, { hangRegister: true })
  await hung.start()
  dp.start()
  await hung.waitForRegistrations(3, 20000)
  t.same([...hung.registrations].sort(), RESOURCES.map((r) => `intel.com/${r}`), 'all three asked for')
  t.same(dp.logs().filter((l) => /registration failed/.test(l.msg)), [], 'while none had given up yet: none waited for another')
  await hung.waitFor(() => dp.logs().filter((l) => /registration failed/.test(l.msg)).length === 3, 'each gives up on its own deadline', 20000)

  await hung.stop()
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  for (const r of RESOURCES) await k.waitForList(`intel.com/${r}`, (l) => l.length === 1, 20000)
  t.equal(dp.child!.exitCode, null)
})

t.test('a resource removed while kubelet is still answering its Register stays gone: not logged as registered, no metric series', async (t) => {
  const dp = dpRun(t, { resourceList: [{ resourceName: 'net_a', selectors: { pciAddresses: [x540().vfs[0].pci] } }] })
  buildFakeSysfs(dp.sysfs, [x540()])
  const slow = new KubeletStandIn(dp.dpDir, { registerDelayMs: 1500 })
  await slow.start()
  t.teardown(() => slow.stop())
  const port = await freePort()
  dp.start(['--http-addr', `127.0.0.1:${port}`])
  await slow.waitFor(() => dp.logs().some((l) => l.msg === 'registered with kubelet' && l.resource === 'intel.com/net_a'), 'net_a registered', 20000)
  dp.writeConfig({ resourceList: [{ resourceName: 'net_a', selectors: { pciAddresses: [x540().vfs[0].pci] } }, { resourceName: 'late', selectors: { pciAddresses: [x540().vfs[1].pci] } }] })
  await slow.waitFor(() => slow.registrations.includes('intel.com/late'), 'late asked for', 20000)
  dp.writeConfig({ resourceList: [{ resourceName: 'net_a', selectors: { pciAddresses: [x540().vfs[0].pci] } }] })
  await slow.waitFor(() => dp.logs().some((l) => l.msg === 'config reloaded' && (l.resources as string[] | undefined)?.length === 1), 'late removed', 20000)
  await new Promise((r) => setTimeout(r, 2500)) // kubelet's answer for late arrives meanwhile
  t.same(dp.logs().filter((l) => l.resource === 'intel.com/late' && /registered/.test(l.msg)), [], 'late never logged as registered')
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  t.notMatch(metrics, /intel\.com\/late/, 'no metric series of the removed resource')
  t.equal(dp.child!.exitCode, null)
})
