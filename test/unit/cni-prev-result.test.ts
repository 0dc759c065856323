import t from 'tap'
import { mergePrevResult } from '../../cni/prev-result'

t.test('a chained plugin keeps the previous result and shifts its own IPs past the interfaces already there', async (t) => {
  const prev = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }, { name: 'veth1' }], ips: [{ address: '10.0.0.2/24', interface: 0 }], routes: [{ dst: '0.0.0.0/0' }], dns: { nameservers: ['10.0.0.53'] } }
  const ours = { cniVersion: '1.0.0', interfaces: [{ name: 'net1', pciID: '0000:01:10.0' }], ips: [{ address: '192.168.201.2/24', interface: 0 }], routes: [{ dst: '10.201.0.0/16' }] }
  t.same(mergePrevResult(prev, ours), {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0' }, { name: 'veth1' }, { name: 'net1', pciID: '0000:01:10.0' }],
    ips: [{ address: '10.0.0.2/24', interface: 0 }, { address: '192.168.201.2/24', interface: 2 }],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '10.201.0.0/16' }],
    dns: { nameservers: ['10.0.0.53'] },
  })
})

t.test('our DNS wins over the previous one; without a previous result ours is returned as it is', async (t) => {
  const ours = { cniVersion: '1.1.0', interfaces: [{ name: 'net1' }], ips: [], routes: [], dns: { domain: 'pod.local' } }
  t.same(mergePrevResult({ cniVersion: '1.1.0', dns: { domain: 'old' } }, ours).dns, { domain: 'pod.local' })
  t.equal(mergePrevResult(undefined, ours), ours)
})
