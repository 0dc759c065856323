// The allocation order of the reference host-local, on an in-memory store (no disk).
import t from 'tap'
import { allocateFromSet, type AllocatorStore } from '../../ipam/allocator'
import { parseRangeSet } from '../../ipam/range'
import { formatIP, parseIP, type IP } from '../../protocol/ip'

function memoryStore(taken: string[] = [], last?: string): AllocatorStore & { leases: Map<string, string> } {
  const leases = new Map(taken.map((ip) => [ip, 'someone\r\neth0']))
  let lastReserved = last
  return {
    leases,
    reserve(id: string, ifname: string, ip: IP) {
      const key = formatIP(ip)
      if (leases.has(key)) return false
      leases.set(key, `${id}\r\n${ifname}`)
      lastReserved = key
      return true
    },
    findByID: (id: string, ifname: string) => [...leases].filter(([, v]) => v === `${id}\r\n${ifname}`).map(([k]) => k),
    lastReserved: () => (lastReserved ? parseIP(lastReserved) : undefined),
  }
}
const set = parseRangeSet([{ subnet: '10.1.2.0/29' }, { subnet: '10.1.3.0/30' }], 'test') // .2-.6 (gw .1), then 10.1.3.2 (gw .1)

t.test('round-robin after the last reservation, across ranges, gateway skipped, wrapping around', async (t) => {
  const store = memoryStore([], '10.1.2.5')
  const got = ['a', 'b', 'c'].map((id) => allocateFromSet(store, set, 0, id, 'net1').address)
  t.same(got, ['10.1.2.6/29', '10.1.3.2/30', '10.1.2.2/29'])
})

t.test('a taken address is passed over; exhaustion is code 11 naming the range set', async (t) => {
  const store = memoryStore(['10.1.2.2', '10.1.2.3'])
  t.equal(allocateFromSet(store, set, 0, 'a', 'net1').address, '10.1.2.4/29')
  for (const id of ['b', 'c', 'd']) allocateFromSet(store, set, 0, id, 'net1')
  t.throws(() => allocateFromSet(store, set, 0, 'e', 'net1'), { code: 11, message: /^no IP addresses available in range set: 10\.1\.2\.1-10\.1\.2\.6,10\.1\.3\.1-10\.1\.3\.2$/ })
})

t.test('a requested address: taken, outside the set, or the gateway is refused with code 7', async (t) => {
  const store = memoryStore(['10.1.2.3'])
  t.equal(allocateFromSet(store, set, 0, 'a', 'net1', parseIP('10.1.2.4')).address, '10.1.2.4/29')
  t.throws(() => allocateFromSet(store, set, 0, 'b', 'net1', parseIP('10.1.2.3')), { code: 7, message: /not available/ })
  t.throws(() => allocateFromSet(store, set, 0, 'b', 'net1', parseIP('10.9.9.9')), { code: 7, message: /not in range set/ })
  t.throws(() => allocateFromSet(store, set, 0, 'b', 'net1', parseIP('10.1.2.1')), { code: 7, message: /gateway/ })
})

t.test('an attachment that already holds an address of the set gets no second one', async (t) => {
  const store = memoryStore()
  allocateFromSet(store, set, 0, 'a', 'net1')
  t.throws(() => allocateFromSet(store, set, 0, 'a', 'net1'), { code: 7, message: /duplicate allocation is not allowed/ })
  t.equal(allocateFromSet(store, set, 0, 'a', 'net2').address, '10.1.2.3/29', 'another interface of the container is another attachment')
})
