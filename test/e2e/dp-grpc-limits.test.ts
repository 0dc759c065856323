// What a confused or hostile client sends over the device plugin socket must be answered promptly and must not
// break the connection kubelet uses: a device ID of 100 KB, a request larger than any kubelet sends.
import t from 'tap'
import { buildFakeSysfs, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { dpRun, X540_RESOURCE, X540_SEED } from '../helpers/sriovdp'

const RES = X540_RESOURCE

t.test('an Allocate naming a 100 KB device ID is refused at once, and the channel keeps working', async (t) => {
  const dp = dpRun(t, X540_SEED)
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  dp.start()
  await k.waitForList(RES, (l) => l.length === 8)
  const huge = 'x'.repeat(100_000)
  const allocate = (ids: string[]) => k.call(RES, 'Allocate', { container_requests: [{ devices_ids: ids }] })
  // the deadline only keeps a hanging call from hanging the test: the answer must be an INVALID_ARGUMENT
  const err = await allocate([huge]).then(() => undefined, (e: Error & { code?: number; details?: string }) => e)
  t.match(err, { code: 3, details: /^intel\.com\/intel_sriov_netdevice: unknown device IDs x{20}\.\.\. \(100000 characters\)$/ })
  const many = await allocate(Array.from({ length: 5000 }, (_, i) => `0000:99:${i}`)).then(() => undefined, (e: Error & { code?: number; details?: string }) => e)
  t.match(many, { code: 3, details: /unknown device IDs 0000:99:0, 0000:99:1, .* and 4990 more$/ })
  t.ok((many?.details ?? "").length < 1024, 'a short message')
  const tooLarge = await allocate(['y'.repeat(2 << 20)]).then(() => undefined, (e: Error & { code?: number; details?: string }) => e)
  t.match(tooLarge, { code: 8 }, 'a request larger than 1 MiB: RESOURCE_EXHAUSTED')
  const ok = await allocate(['0000:01:10.1'])
  t.equal(ok.container_responses[0].envs.PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE, '0000:01:10.1', 'the same channel still answers')
})
