import t from 'tap'
import { fromVersion, toVersion, type Result } from '../../protocol/result'
import { SUPPORTED_VERSIONS } from '../../protocol/version'

const full: Result = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'net1', mac: '02:00:00:00:00:01', mtu: 9000, sandbox: '/var/run/netns/p', pciID: '0000:01:10.1' }],
  ips: [
    { address: '192.168.201.2/24', gateway: '192.168.201.1', interface: 0 },
    { address: 'fd00::2/64', gateway: 'fd00::1', interface: 0 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '192.168.201.1', priority: 5 }, { dst: '::/0' }],
  dns: { nameservers: ['10.0.0.10'], search: ['svc'] },
}

t.test('1.1.0 and 1.0.0 keep every field', async (t) => {
  for (const v of ['1.0.0', '1.1.0']) {
    const out = toVersion(full, v) as any
    t.equal(out.cniVersion, v)
    t.same(out.interfaces[0], { name: 'net1', mac: '02:00:00:00:00:01', mtu: 9000, sandbox: '/var/run/netns/p', pciID: '0000:01:10.1' })
    t.same(out.ips[0], { interface: 0, address: '192.168.201.2/24', gateway: '192.168.201.1' })
    t.same(out.routes[0], { dst: '0.0.0.0/0', gw: '192.168.201.1', priority: 5 })
  }
})

t.test('0.3.x and 0.4.0 add version per IP and drop 1.x-only fields', async (t) => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0']) {
    const out = toVersion(full, v) as any
    t.same(out.interfaces[0], { name: 'net1', mac: '02:00:00:00:00:01', sandbox: '/var/run/netns/p' })
    t.same(out.ips.map((i: any) => i.version), ['4', '6'])
    t.same(out.routes[0], { dst: '0.0.0.0/0', gw: '192.168.201.1' })
  }
})

t.test('0.1.0 and 0.2.0 use ip4/ip6 blocks with routes by family', async (t) => {
  for (const v of ['0.1.0', '0.2.0']) {
    const out = toVersion(full, v) as any
    t.same(out.ip4, { ip: '192.168.201.2/24', gateway: '192.168.201.1', routes: [{ dst: '0.0.0.0/0', gw: '192.168.201.1' }] })
    t.same(out.ip6, { ip: 'fd00::2/64', gateway: 'fd00::1', routes: [{ dst: '::/0' }] })
    t.notOk(out.ips)
    t.same(out.dns, { nameservers: ['10.0.0.10'], search: ['svc'] })
  }
})

t.test('every version pair round-trips addresses, gateways and routes', async (t) => {
  for (const a of SUPPORTED_VERSIONS) {
    for (const b of SUPPORTED_VERSIONS) {
      const back = fromVersion(toVersion(fromVersion(toVersion(full, a), a), b), b)
      t.same(back.ips?.map((i) => [i.address, i.gateway]), full.ips?.map((i) => [i.address, i.gateway]), `${a} -> ${b}`)
      t.same(back.routes?.map((r) => [r.dst, r.gw]), full.routes?.map((r) => [r.dst, r.gw]), `${a} -> ${b} routes`)
    }
  }
})

t.test('malformed results are decode errors naming the field', async (t) => {
  t.throws(() => fromVersion({ ips: [{ address: 3 }] }, '1.0.0'), { code: 6, message: /ips\[0\]\.address/ })
  t.throws(() => fromVersion('x', '1.0.0'), { code: 6 })
})
