// The HTTP endpoints (probes, metrics, status) are a side show: a port another node agent holds must never
// stop sriovdp serving devices; it keeps trying the port and takes it once free.
import fs from 'node:fs'
import net from 'node:net'
import t from 'tap'
import { buildFakeSysfs, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { dpRun, freePort, servingX540, X540_RESOURCE, X540_SEED } from '../helpers/sriovdp'

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
  const port = await freePort()
  const { dp, k } = await servingX540(t, (dp) => new KubeletStandIn(dp.dpDir), ['--http-addr', `[::1]:${port}`])
  await k.waitFor(() => dp.logs().some((l) => l.msg === 'HTTP endpoints listening'), 'listening on ::1')
  t.equal((await fetch(`http://[::1]:${port}/healthz`)).status, 200)

  const bad = dpRun(t, X540_SEED)
  bad.start(['--http-addr', ':99999'])
  t.equal(await bad.exited(), 2)
  t.equal(bad.stderr, 'sriovdp: --http-addr: ":99999" has port 99999; ports run from 0 to 65535 (empty to disable)\n')
})

t.test('connections that never finish a request take few descriptors and go away; devices are served throughout', async (t) => {
  const port = await freePort()
  const { dp, k } = await servingX540(t, (dp) => new KubeletStandIn(dp.dpDir), ['--http-addr', `127.0.0.1:${port}`])
  await k.waitFor(() => dp.logs().some((l) => l.msg === 'HTTP endpoints listening'), 'listening')
  const sockets = () => fs.readdirSync(`/proc/${dp.child!.pid}/fd`).filter((f) => { try { return fs.readlinkSync(`/proc/${dp.child!.pid}/fd/${f}`).startsWith('socket:') } catch { return false } }).length
  const before = sockets()
  // 300 clients that send half a request and wait, as a scanner or a flood on the node's network does
  const flood: net.Socket[] = []
  t.teardown(() => flood.forEach((s) => s.destroy()))
  for (let i = 0; i < 300; i++) {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /status HTTP/1.1\r\nHost: x\r\n'))
    s.on('error', () => {})
    flood.push(s)
  }
  await new Promise((r) => setTimeout(r, 1000))
  const during = sockets()
  t.ok(during - before <= 40, `the daemon holds at most its connection limit: ${during - before} more sockets than before the flood`)
  dp.child!.kill('SIGHUP') // a rescan reads sysfs with the flood in place
  await new Promise((r) => setTimeout(r, 500))
  t.same(k.latest(RES)!.lists.at(-1)!.length, 8, 'devices still listed after the rescan')
  // the half-finished requests time out; the endpoint answers again
  let status: number | undefined
  for (let i = 0; i < 40 && status !== 200; i++) {
    status = (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.status
    if (status !== 200) await new Promise((r) => setTimeout(r, 500))
  }
  t.equal(status, 200, '/healthz answers once the flood timed out')
  t.equal(dp.child!.exitCode, null, 'still running')
})
