// A reload that moves VFs from one resource to another: the old owner's streams get the list without them, and
// only then does the new owner list them, so that kubelet never counts one VF under two resources (red team 9:
// the new owner's list went out 0-2 ms before the old one let go). Which stream kubelet reads first is its own
// affair: the order checked is the plugin's, from its log, where each line is written as the step happens.
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

interface Line { msg: string; resource?: string; devices?: number; withdrawn?: string[] }

t.test('VFs moved between resources by reloads: the old owner lets go of them before the new one lists them', async (t) => {
  const dp = dpRun(t, split)
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  dp.start()
  await k.waitForList(A, (l) => l.length === 4)
  await k.waitForList(B, (l) => l.length === 4)
  for (let round = 0; round < 3; round++) {
    dp.writeConfig(movedToB) // two VFs from A to B, both resources stay
    await k.waitForList(B, (l) => l.length === 6)
    await k.waitForList(A, (l) => l.length === 2)
    dp.writeConfig(allToA) // B removed: its six VFs go to A
    await k.waitForList(A, (l) => l.length === 8)
    dp.writeConfig(split) // B back, with four of A's
    await k.waitForList(B, (l) => l.length === 4)
    await k.waitForList(A, (l) => l.length === 4)
  }
  const lines = (dp.logs() as Line[]).filter((l) => l.msg === 'devices withdrawn' || l.msg === 'device list updated')
  const step = (l: Line) => `${l.msg === 'devices withdrawn' ? 'withdrawn from' : 'listed by'} ${l.resource} (${l.withdrawn?.map((d) => d.slice(8)).join(' ') ?? `${l.devices} devices`})`
  // each move: the loser's shorter list first, then the winner's longer one
  const moves = lines.map(step).filter((s) => /^listed by intel.com\/net_b \(6|^listed by intel.com\/net_a \(8|^withdrawn from/.test(s))
  t.same(moves, Array(3).fill([
    'withdrawn from intel.com/net_a (10.5 10.7)',
    'listed by intel.com/net_b (6 devices)',
    'withdrawn from intel.com/net_b (10.5 10.7 11.1 11.3 11.5 11.7)',
    'listed by intel.com/net_a (8 devices)',
    'withdrawn from intel.com/net_a (11.1 11.3 11.5 11.7)',
  ]).flat(), 'every move withdrawn first, in the plugin\'s own order')
})
