import t from 'tap'
import { seamsFrom } from '../../host/seams'
import { parseOptions, UsageError } from '../../deviceplugin/cli'
import { parseListenAddress } from '../../deviceplugin/listen-address'

t.test('--http-addr as Go reads host:port: every address, IPv4, host names, bracketed IPv6', async (t) => {
  t.same(parseListenAddress(':10298'), { host: '0.0.0.0', port: 10298 })
  t.same(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 })
  t.same(parseListenAddress('localhost:8080'), { host: 'localhost', port: 8080 })
  t.same(parseListenAddress('[::1]:18501'), { host: '::1', port: 18501 })
  t.same(parseListenAddress('[::]:65535'), { host: '::', port: 65535 })
})

t.test('a bad --http-addr is a usage error naming the flag, not an exception once devices are served', async (t) => {
  const opts = (addr: string) => parseOptions(['--http-addr', addr, '--registration', 'classic'], seamsFrom({}))
  const cases: [string, RegExp][] = [
    [':99999', /^--http-addr: ":99999" has port 99999; ports run from 0 to 65535 \(empty to disable\)$/],
    [':-1', /must be host:port, :port or \[IPv6 address\]:port/],
    ['bogus', /must be host:port/],
    ['localhost:', /must be host:port/],
    ['::1:18501', /IPv6 address without brackets/],
    ['127.0.0.1:18502:1', /IPv6 address without brackets/],
    ['http://127.0.0.1:18503', /"http:\/\/127\.0\.0\.1", which is no IP address or host name/],
    ['256.1.1.1:80', /"256\.1\.1\.1", which is no IP address or host name/],
    ['[nope]:80', /"nope" in brackets, which is no IPv6 address/],
  ]
  for (const [addr, msg] of cases) {
    t.throws(() => opts(addr), new UsageError(''), addr)
    t.throws(() => opts(addr), { message: msg }, addr)
  }
  t.same(opts('[::1]:18501').httpAddr, { host: '::1', port: 18501 })
  t.equal(opts('').httpAddr, undefined, 'empty disables')
})
