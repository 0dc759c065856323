import t from 'tap'
import { parseHostLocal } from '../../ipam/host-local'
import { formatIP, parseIP } from '../../protocol/ip'
import { parseNetConf } from '../../protocol/netconf'

const conf = (ipam: object, extra: object = {}) => parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'net1', type: 'sriov', ipam: { type: 'host-local', ...ipam }, ...extra }))
const parse = (ipam: object, extra: object = {}, args: Record<string, string> = {}) => parseHostLocal(conf(ipam, extra), { args })

t.test('defaults: gateway and rangeStart .1, rangeEnd before broadcast (v4) or last (v6)', async (t) => {
  const c = parse({ ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00:1::/64' }]] })
  const [v4] = c.rangeSets[0]
  t.equal(formatIP(v4.gateway), '10.1.2.1')
  t.equal(formatIP(v4.rangeStart), '10.1.2.1')
  t.equal(formatIP(v4.rangeEnd), '10.1.2.254')
  const [v6] = c.rangeSets[1]
  t.equal(formatIP(v6.rangeEnd), 'fd00:1::ffff:ffff:ffff:ffff')
  t.equal(c.dataDir, '/var/lib/cni/networks')
})

t.test('legacy top-level subnet becomes a range set before ranges; ipRanges come first', async (t) => {
  const c = parse({ subnet: '10.9.0.0/16', rangeStart: '10.9.0.10', ranges: [[{ subnet: '10.8.0.0/24' }]] }, { runtimeConfig: { ipRanges: [[{ subnet: '10.7.0.0/24' }]] } })
  t.same(c.rangeSets.map((s) => formatIP(s[0].rangeStart)), ['10.7.0.1', '10.9.0.10', '10.8.0.1'])
})

t.test('requested IPs from CNI_ARGS, args.cni.ips and runtimeConfig.ips, in that order', async (t) => {
  const c = parse({ ranges: [[{ subnet: '10.1.2.0/24' }]] }, { args: { cni: { ips: ['10.1.2.7'] } }, runtimeConfig: { ips: ['10.1.2.8/24'] } }, { IP: '10.1.2.6' })
  t.same(c.requestedIPs.map(formatIP), ['10.1.2.6', '10.1.2.7', '10.1.2.8'])
})

t.test('every invalid config is code 7 and names the value', async (t) => {
  const cases: [object, RegExp][] = [
    [{ ranges: [[{ subnet: '10.1.2.0/31' }]] }, /10\.1\.2\.0\/31 too small/],
    [{ ranges: [[{ subnet: 'fd00::/127' }]] }, /too small/],
    [{ ranges: [[{ subnet: '10.1.2.5/24' }]] }, /host bits set.*10\.1\.2\.0/],
    [{ ranges: [[{ subnet: '10.1.2.0/24', rangeStart: '10.1.3.1' }]] }, /rangeStart: 10\.1\.3\.1 not in network/],
    [{ ranges: [[{ subnet: '10.1.2.0/24', rangeEnd: '10.1.9.1' }]] }, /rangeEnd/],
    [{ ranges: [[{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.50', rangeEnd: '10.1.2.40' }]] }, /rangeEnd: 10\.1\.2\.40 .* before start 10\.1\.2\.50/],
    [{ ranges: [[{ subnet: '10.1.2.0/24', gateway: '10.2.0.1' }]] }, /gateway 10\.2\.0\.1 not in network/],
    [{ ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: 'fd00::/64' }]] }, /mixed address families/],
    [{ ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.1.2.128/25' }]] }, /overlap/],
    [{ ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.0.0/16' }]] }, /range set 0 overlaps with 1/],
    [{ ranges: [[]] }, /empty range set/],
    [{ ranges: [[{ subnet: 'banana' }]] }, /invalid subnet "banana"/],
    [{}, /no IP ranges specified/],
    [{ ranges: [[{ subnet: '10.1.2.0/24' }]], dataDir: 'relative' }, /dataDir/],
    [{ ranges: [[{ subnet: '10.1.2.0/24' }]], routes: [{ dst: 'x' }] }, /routes\[0\]\.dst/],
    // red team: the first was installed as IPv4 10.9.0.0/16, the second failed late with a bare EINVAL
    [{ ranges: [[{ subnet: '10.1.2.0/24' }]], routes: [{ dst: '10.2.0.0/16' }, { dst: '::ffff:10.9.0.0/112' }] }, /routes\[1\]\.dst: "::ffff:10\.9\.0\.0\/112" is an IPv4 network in IPv6 notation/],
    // red team 8: taken as the IPv4 range 10.88.0.0/24, where Go's host-local refuses it
    [{ ranges: [[{ subnet: '::ffff:10.88.0.0/120' }]] }, /ranges\[0\]\[0\]: subnet "::ffff:10\.88\.0\.0\/120" is an IPv4 network in IPv6 notation/],
    [{ subnet: '::ffff:10.88.0.0/120' }, /IPv4 network in IPv6 notation/],
    [{ ranges: [[{ subnet: '10.1.2.0/24' }]], routes: [{ dst: '192.168.5.7/24' }] }, /routes\[0\]\.dst: "192\.168\.5\.7\/24" has host bits set: the network is 192\.168\.5\.0\/24/],
  ]
  for (const [ipam, msg] of cases) t.throws(() => parse(ipam), { code: 7, message: msg }, msg.source)
  t.throws(() => parse({ ranges: [[{ subnet: '10.1.2.0/24' }]] }, {}, { IP: 'nope' }), { code: 7, message: /CNI_ARGS IP.*nope/ })
  t.throws(() => parseHostLocal(conf({ subnet: '10.0.0.0/24' }, { name: '../x' }), { args: {} }), { code: 7, message: /network name/ })
})

t.test('route destinations in Go\'s text: canonical IPv6, host bits of an IPv6 destination kept (the kernel masks them)', async (t) => {
  const c = parse({ ranges: [[{ subnet: 'fd00:77::/64' }]], routes: [{ dst: 'FD00:88:0::/64', gw: 'FD00:77::99' }, { dst: '::0/0' }, { dst: 'fd00:99::5/64' }] })
  t.same(c.routes, [{ dst: 'fd00:88::/64', gw: 'fd00:77::99' }, { dst: '::/0' }, { dst: 'fd00:99::5/64' }])
})

t.test('0.2.0 allows one address per family only', async (t) => {
  const c = parseNetConf(JSON.stringify({ cniVersion: '0.2.0', name: 'n', type: 'x', ipam: { ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.2.0.0/24' }]] } }))
  t.throws(() => parseHostLocal(c, { args: {} }), { code: 7, message: /0\.2\.0 does not support more than 1 address per family/ })
})

t.test('IPv6 text form matches Go net.IP.String()', async (t) => {
  const cases: [string, string][] = [
    ['fd00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::1'],
    ['fd00:1:2:3:4:5:6:7', 'fd00:1:2:3:4:5:6:7'],
    ['::', '::'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['fd00::1:0', 'fd00::1:0'],
  ]
  for (const [input, want] of cases) t.equal(formatIP(parseIP(input)!), want, input)
})

t.test('address parsing accepts what Go accepts and rejects the rest', async (t) => {
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.04', '1.2.3.4.', '.1.2.3', '1..2.3', '1.2.3.4 ', ' 1.2.3.4', '1234.1.1.1', '1.2.3.1e1', '1.2.3.+4', '1.2.3.٣', '1::2::3', 'fd00:::1', '1:2:3:4:5:6:7:8:9', 'g::1', '12345::1', '1:2:3:4:5:6:7:1.2.3.4', '']) {
    t.equal(parseIP(bad), undefined, JSON.stringify(bad))
  }
  for (const good of ['0.0.0.0', '255.255.255.255', '10.0.250.199', '1.20.100.9']) t.equal(formatIP(parseIP(good)!), good, good)
  t.equal(formatIP(parseIP('1:2:3:4:5:6:1.2.3.4')!), '1:2:3:4:5:6:102:304')
  t.equal(formatIP(parseIP('::1.2.3.4')!), '::102:304')
  t.equal(formatIP(parseIP('FD00::A')!), 'fd00::a')
})
