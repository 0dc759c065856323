// A reload that moves VFs from one resource to another: the old owner's list drops them before the new owner's
// lists them, so that kubelet never counts one VF under two resources (red team 9: the new owner's list came
// 0-2 ms before the old one let go).
import t from 'tap'
import { buildFakeSysfs, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { dpRun } from '../helpers/sriovdp'

const FIRST = ['0000:01:10.1', '0000:01:10.3', '0000:01:10.5', '0000:01:10.7']
const SECOND = ['0000:01:11.1', '0000:01:11.3', '0000:01:11.5', '0000:01:11.7']
const A = 'intel.com/net_a'
const B = 'intel.com/net_b'
const split = { resourceList: [{ resourceName: 'net_a', selectors: { pciAddresses: FIRST } }, { resourceName: 'net_b', selectors: { pciAddresses: SECOND } }] }
const movedToB = { resourceList: [{ resourceName: 'net_a', selectors: { pciAddresses: FIRST.slice(0, 2) } }, { resourceName: 'net_b', selectors: { pciAddresses: [...FIRST.slice(2), ...SECOND] } }] }
const allToA = { resourceList: [{ resourceName: 'net_a', selectors: { pciAddresses: [...FIRST, ...SECOND] } }] }

t.test('VFs moved between resources by reloads are never listed by two resources at once', async (t) => {
  const dp = dpRun(t, split)
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  // what kubelet holds for each resource: the newest list of its newest stream
  const overlaps: string[] = []
  k.on('list', () => {
    const a = new Set(k.latest(A)?.lists.at(-1)?.map((d) => d.ID) ?? [])
    for (const d of k.latest(B)?.lists.at(-1) ?? []) if (a.has(d.ID)) overlaps.push(d.ID)
  })
  dp.start()
  await k.waitForList(A, (l) => l.length === 4)
  await k.waitForList(B, (l) => l.length === 4)
  for (let round = 0; round < 4; round++) {
    dp.writeConfig(movedToB) // two VFs from A to B, both resources stay
    await k.waitForList(B, (l) => l.length === 6)
    await k.waitForList(A, (l) => l.length === 2)
    dp.writeConfig(allToA) // B removed: its six VFs go to A
    await k.waitForList(A, (l) => l.length === 8)
    dp.writeConfig(split) // B back, with four of A's
    await k.waitForList(B, (l) => l.length === 4)
    await k.waitForList(A, (l) => l.length === 4)
  }
  t.same(overlaps, [], 'no VF in both resources\' lists at any moment')
})
