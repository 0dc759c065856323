// What a confused or hostile client sends over the device plugin socket must be answered promptly and must not
// break the connection kubelet uses: a device ID of 100 KB, a request larger than any kubelet sends.
import t from 'tap'
import { KubeletStandIn } from '../helpers/kubelet'
import { servingX540, X540_RESOURCE } from '../helpers/sriovdp'

const RES = X540_RESOURCE

t.test('an Allocate naming a 100 KB device ID is refused at once, and the channel keeps working', async (t) => {
  const { k } = await servingX540(t, (dp) => new KubeletStandIn(dp.dpDir))
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

t.test('an Allocate without device IDs, or naming one twice, is refused; GetPreferredAllocation prefers a device once', async (t) => {
  const { k } = await servingX540(t, (dp) => new KubeletStandIn(dp.dpDir))
  const allocate = (ids: string[]) => k.call(RES, 'Allocate', { container_requests: [{ devices_ids: ids }] }).then(() => undefined, (e: Error & { code?: number; details?: string }) => e)
  t.match(await allocate([]), { code: 3, details: 'intel.com/intel_sriov_netdevice: a container request without device IDs' })
  t.match(await allocate(['0000:01:10.1', '0000:01:10.3', '0000:01:10.1']), { code: 3, details: 'intel.com/intel_sriov_netdevice: device IDs asked for more than once: 0000:01:10.1' })
  const preferred = await k.call(RES, 'GetPreferredAllocation', { container_requests: [{ available_deviceIDs: ['0000:01:10.1', '0000:01:10.1', '0000:01:10.1', '0000:01:10.3'], must_include_deviceIDs: [], allocation_size: 2 }] })
  t.same([...preferred.container_responses[0].deviceIDs].sort(), ['0000:01:10.1', '0000:01:10.3'])
})
