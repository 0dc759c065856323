// Resource names as long as kubelet allows (63 characters) are served in both registration modes, although
// `sriov_<prefix>_<name>.sock` then no longer fits a unix socket address (107 bytes) in kubelet's directories:
// the socket gets a stable hashed name, kept across restarts and removed on exit. Longer names are config
// errors naming the resource and field, at start-up and on reload.
import fs from 'node:fs'
import t from 'tap'
import { buildFakeSysfs, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { dpRun } from '../helpers/sriovdp'

const NAME = `long${'n'.repeat(58)}0` // 63 characters
const RES = `intel.com/${NAME}`
const config = (name = NAME) => ({ resourceList: [{ resourceName: name, selectors: { drivers: ['ixgbevf'] } }] })
const sockets = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.sock') && f !== 'kubelet.sock')

t.test('classic mode: a 63-character resource name is registered and served, under the same socket after a restart', async (t) => {
  const dp = dpRun(t, config())
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  t.ok(`${dp.dpDir}/sriov_${RES.replace('/', '_')}.sock`.length > 107, 'the plain socket name would not fit')
  dp.start()
  await k.waitForList(RES, (l) => l.length === 8)
  const [sock] = sockets(dp.dpDir)
  t.ok(`${dp.dpDir}/${sock}`.length <= 107, `${sock} fits`)
  t.match(sock, /^sriov_intel\.com_longn+-[0-9a-f]{16}\.sock$/)

  // a reload adding a name kubelet would refuse: rejected, the running config kept
  dp.writeConfig({ resourceList: [...config().resourceList, { resourceName: `x${'n'.repeat(63)}`, selectors: { drivers: ['igbvf'] } }] })
  await k.waitFor(() => /new config rejected/.test(dp.stderr), 'the reload rejected')
  t.match(dp.stderr, /resource \\"xn{63}\\"\.resourceName: \\"xn{63}\\" has 64 characters; kubelet accepts at most 63/)

  dp.child!.kill('SIGTERM')
  t.equal(await dp.exited(), 0)
  t.same(sockets(dp.dpDir), [], 'the socket removed on exit')
  dp.writeConfig(config())
  const before = k.connections.length
  dp.start()
  await k.waitFor(() => k.connections.length > before && k.latest(RES)!.lists.at(-1)?.length === 8, 'served again')
  t.same(sockets(dp.dpDir), [sock], 'the same socket name after a restart')
  t.notOk(/EADDRINUSE|serving anew/.test(dp.stderr), 'never served anew in a loop')
})

t.test('watcher mode: a 63-character resource name is found in plugins_registry and served', async (t) => {
  const dp = dpRun(t, config())
  buildFakeSysfs(dp.sysfs, [x540()])
  fs.mkdirSync(dp.registryDir, { recursive: true })
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  k.watchRegistry(dp.registryDir)
  dp.start(['--registration', 'watcher'])
  await k.waitForList(RES, (l) => l.length === 8)
  const [sock] = sockets(dp.registryDir)
  t.ok(`${dp.registryDir}/${sock}`.length <= 107, `${sock} fits`)
})

t.test('a resource name longer than kubelet accepts stops start-up with the resource and field named', async (t) => {
  const name = 'n'.repeat(300)
  const dp = dpRun(t, config(name))
  dp.start()
  t.equal(await dp.exited(), 1)
  t.match(dp.stderr, /sriovdp: resource "n+"\.resourceName: "n{70}\.\.\." has 300 characters; kubelet accepts at most 63\n/)
  t.notMatch(dp.stderr, /ENAMETOOLONG|\n {4}at /, 'no stack trace')
})

t.test('Allocate of a resource whose prefix and name fill the device-info file name (red team 9): the file is written, a longer pair is a config error', async (t) => {
  const prefix = `${'p'.repeat(60)}.${'q'.repeat(60)}.${'r'.repeat(44)}.example.com` // 178 characters
  const name = `long${'n'.repeat(46)}0` // 51: 229 together, the most a device-info file name holds
  const dp = dpRun(t, { resourceList: [{ resourceName: name, resourcePrefix: prefix, selectors: { drivers: ['ixgbevf'] } }] })
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  dp.start()
  const res = `${prefix}/${name}`
  await k.waitForList(res, (l) => l.length === 8)
  // the temporary name beside it was ~50 bytes longer: every Allocate failed with ENAMETOOLONG
  const alloc = await k.call(res, 'Allocate', { container_requests: [{ devices_ids: ['0000:01:10.1'] }] })
  t.ok(alloc.container_responses[0].envs, 'Allocate answers')
  const file = `${prefix}-${name}-0000:01:10.1-device.json`
  t.equal(file.length, 255)
  t.match(JSON.parse(fs.readFileSync(`${dp.devinfoDir}/${file}`, 'utf8')), { type: 'pci', pci: { 'pci-address': '0000:01:10.1' } })
  t.same(fs.readdirSync(dp.devinfoDir).filter((f) => f.startsWith('.tmp-')), [], 'no temporary file left')

  dp.writeConfig({ resourceList: [{ resourceName: `${name}x`, resourcePrefix: prefix, selectors: { drivers: ['ixgbevf'] } }] })
  await k.waitFor(() => /new config rejected/.test(dp.stderr), 'the longer pair rejected on reload')
  t.match(dp.stderr, /resourcePrefix: .* and the resourceName have 230 characters together; the device-info file Allocate writes for Multus, .* holds at most 229/)
})
