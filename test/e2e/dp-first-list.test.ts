// kubelet's device manager takes allocatable from every ListAndWatch answer, the first one included, and
// admits a waiting pod on it: the first answer of every connection must already be the full device list.
import t from 'tap'
import { buildFakeSysfs, manyPfs, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { dpRun, servingX540, X540_RESOURCE, X540_SEED, type DpRun } from '../helpers/sriovdp'

const RES = X540_RESOURCE
const SEED = X540_SEED

/** Starts sriovdp `starts` times against a fresh kubelet each time; the first answer of each start. */
async function firstAnswers(t: tap.Test, dp: DpRun, starts: number, size: number): Promise<{ lengths: number[]; admissions: KubeletStandIn['admissions'] }> {
  const lengths: number[] = []
  const admissions: KubeletStandIn['admissions'] = []
  for (let i = 0; i < starts; i++) {
    const k = new KubeletStandIn(dp.dpDir, { admitOnFirstList: 1 })
    await k.start()
    dp.start()
    await k.waitForList(RES, (l) => l.length === size, 30000)
    await k.waitForAdmissions()
    lengths.push(k.firstLists(RES)[0].length)
    admissions.push(...k.admissions)
    dp.child!.kill('SIGTERM')
    t.equal(await dp.exited(), 0, `start ${i + 1}: clean exit`)
    await k.stop()
  }
  return { lengths, admissions }
}

t.test('the X540 layout: the first answer of 10 starts is the full list, and the waiting pod is admitted on it', async (t) => {
  const dp = dpRun(t, SEED)
  buildFakeSysfs(dp.sysfs, [x540()])
  const { lengths, admissions } = await firstAnswers(t, dp, 10, 8)
  t.same(lengths, Array(10).fill(8), 'every first answer holds the 8 VFs')
  t.same(admissions.filter((a) => !a.ok), [], 'no pod refused with "only 0 healthy"')
})

t.test('16 PFs x 64 VFs: the first answer of 5 starts is the full list', async (t) => {
  const dp = dpRun(t, { resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: { vendors: ['8086'], devices: ['1515'] } }] })
  buildFakeSysfs(dp.sysfs, manyPfs(16, 64))
  const { lengths, admissions } = await firstAnswers(t, dp, 5, 1024)
  t.same(lengths, Array(5).fill(1024))
  t.same(admissions.filter((a) => !a.ok), [])
})

t.test('after each of 10 kubelet restarts the new connection first answers the full list', async (t) => {
  const { k } = await servingX540(t, (dp) => new KubeletStandIn(dp.dpDir, { admitOnFirstList: 1 }))
  for (let i = 0; i < 10; i++) {
    await k.waitForAdmissions() // the pod admitted on the last connection, before kubelet goes away
    const connections = k.connections.length
    await k.restart()
    await k.waitFor(() => k.connections.length > connections && (k.latest(RES)?.lists.length ?? 0) > 0, `restart ${i + 1}: a new connection with an answer`)
  }
  await k.waitForAdmissions()
  t.same(k.firstLists(RES).map((l) => l.length), Array(11).fill(8), 'first answers on the 11 connections')
  t.same(k.admissions.filter((a) => !a.ok), [])
})

t.test('100 resources added by config reloads: each registration first answers its full list', async (t) => {
  const { dp, k } = await servingX540(t, (dp) => new KubeletStandIn(dp.dpDir, { admitOnFirstList: 1 }))
  const half = ['0000:01:10.1', '0000:01:10.3', '0000:01:10.5', '0000:01:10.7']
  for (let i = 0; i < 100; i++) {
    dp.writeConfig({ resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: { pciAddresses: half } }, { resourceName: `added${i}`, selectors: { drivers: ['ixgbevf'] } }] })
    await k.waitForList(`intel.com/added${i}`, (l) => l.length === 4)
    await k.waitForAdmissions() // before the resource goes away again
    dp.writeConfig(SEED)
    await k.waitForList(RES, (l) => l.length === 8)
  }
  const added = k.connections.filter((c) => c.resource.startsWith('intel.com/added'))
  t.equal(added.length, 100, 'one registration per added resource')
  t.same(added.map((c) => c.lists[0].length), Array(100).fill(4), 'each first answer holds its 4 VFs')
  await k.waitForAdmissions()
  t.same(k.admissions.filter((a) => !a.ok), [])
})
