// The HTTP endpoints (probes, metrics, status) are a side show: a port another node agent holds must never
// stop sriovdp serving devices; it keeps trying the port and takes it once free.
import net from 'node:net'
import t from 'tap'
import { buildFakeSysfs, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { dpRun, freePort, X540_RESOURCE, X540_SEED } from '../helpers/sriovdp'

const RES = X540_RESOURCE

t.test('a taken HTTP port: devices are served, the failure is logged, the port is taken once it is free', async (t) => {
  const blocker = net.createServer()
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
  t.teardown(() => void (blocker.listening && blocker.close()))
  const port = (blocker.address() as net.AddressInfo).port
  const dp = dpRun(t, X540_SEED)
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  dp.start(['--http-addr', `127.0.0.1:${port}`])
  await k.waitFor(() => dp.logs().some((l) => l.port === port && /HTTP/.test(l.msg)) || dp.child!.exitCode !== null, 'the bind failure logged')
  t.equal(dp.child!.exitCode, null, 'still running after the bind failed')
  t.match(dp.logs().find((l) => l.port === port)!, { level: 40, err: /EADDRINUSE/ })
  await k.waitForList(RES, (l) => l.length === 8)
  t.equal(k.registrations.length, 1, 'registered and serving')

  await new Promise((r) => blocker.close(r))
  await k.waitFor(() => dp.logs().some((l) => l.msg === 'HTTP endpoints listening'), 'the port taken once free', 30000)
  const health = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(health.status, 200)
  t.equal(dp.child!.exitCode, null)
})

t.test('--http-addr takes a bracketed IPv6 address; a port out of range stops start-up naming the flag', async (t) => {
  const dp = dpRun(t, X540_SEED)
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  const port = await freePort()
  dp.start(['--http-addr', `[::1]:${port}`])
  await k.waitForList(RES, (l) => l.length === 8)
  await k.waitFor(() => dp.logs().some((l) => l.msg === 'HTTP endpoints listening'), 'listening on ::1')
  t.equal((await fetch(`http://[::1]:${port}/healthz`)).status, 200)

  const bad = dpRun(t, X540_SEED)
  bad.start(['--http-addr', ':99999'])
  t.equal(await bad.exited(), 2)
  t.equal(bad.stderr, 'sriovdp: --http-addr: ":99999" has port 99999; ports run from 0 to 65535 (empty to disable)\n')
})
