// The config file goes away while sriovdp runs (a key removed from the ConfigMap, a volume remounted): the
// running config stays, the problem is logged once (and again only when it changes), and the file coming back
// is read. The log goes to a file beside the config, so that a daemon logging on every event in that directory
// would feed itself forever, as it did.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { buildFakeSysfs, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { dpRun, servingX540, SRIOVDP_BIN, X540_RESOURCE, X540_SEED } from '../helpers/sriovdp'

const RES = X540_RESOURCE
const HALF = ['0000:01:10.1', '0000:01:10.3', '0000:01:10.5', '0000:01:10.7']

t.test('a missing config file: logged once, the running config kept, the file coming back read', async (t) => {
  const dp = dpRun(t, X540_SEED)
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  const logFile = path.join(path.dirname(dp.configFile), 'sriovdp.log')
  const logs = () => fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; err?: string })
  const unreadable = () => logs().filter((l) => /cannot read config file/.test(l.err ?? ''))
  dp.start([], { logFile })
  await k.waitForList(RES, (l) => l.length === 8)

  fs.rmSync(dp.configFile)
  await k.waitFor(() => unreadable().length > 0, 'the missing file logged')
  // more events in the directory while the file is missing (what kubelet's ConfigMap updates make)
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(path.dirname(dp.configFile), `other-${i}`), 'x')
  t.equal(dp.child!.exitCode, null, 'still running')

  dp.writeConfig({ resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: { pciAddresses: HALF } }] })
  await k.waitForList(RES, (l) => l.length === 4)
  t.equal(unreadable().length, 1, `the missing file logged once, not ${unreadable().length} times`)
  t.ok(logs().length < 30, `a quiet log: ${logs().length} lines`)
  t.match(unreadable()[0], { level: 50, err: /ENOENT/ })
  t.ok(logs().some((l) => l.msg === 'config file readable again'), 'its return logged')
  t.same(k.latest(RES)!.lists.slice(0, -1).map((l) => l.length).filter((n) => n !== 8), [], 'all 8 VFs served until the new file came')
})

t.test('the config directory replaced (renamed away, made anew): the new file is read at once, not at the next rescan', async (t) => {
  const { dp, k } = await servingX540(t, (dp) => new KubeletStandIn(dp.dpDir)) // the periodic rescan is 30 s away
  await k.waitFor(() => dp.logs().some((l) => l.msg === 'sriovdp started'), 'started: the directory watched')
  const dir = path.dirname(dp.configFile)
  fs.renameSync(dir, `${dir}.old`)
  t.teardown(() => fs.rmSync(`${dir}.old`, { recursive: true, force: true }))
  await new Promise((r) => setTimeout(r, 1500))
  fs.mkdirSync(dir) // the daemon did not make it meanwhile: this would fail with EEXIST
  dp.writeConfig({ resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: { pciAddresses: HALF } }] })
  await k.waitForList(RES, (l) => l.length === 4, 5000)
  t.ok(dp.logs().some((l) => l.msg === 'directory replaced: watching the new one' && l.dir === dir), 'the new directory watched')
  // and its later changes are seen through the new watch
  dp.writeConfig(X540_SEED)
  await k.waitForList(RES, (l) => l.length === 8, 5000)
})

t.test('a config written in place, read half-written first, is applied without an error; a bad one is still rejected', async (t) => {
  const { dp, k } = await servingX540(t, (dp) => new KubeletStandIn(dp.dpDir))
  const rejected = () => dp.logs().filter((l) => l.msg === 'new config rejected; keeping the running one')
  const text = JSON.stringify({ resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: { pciAddresses: HALF } }] })
  // as `cat > config.json` does: truncated, then written in two pieces
  const fd = fs.openSync(dp.configFile, 'w')
  fs.writeSync(fd, text.slice(0, 40))
  await new Promise((r) => setTimeout(r, 60))
  fs.writeSync(fd, text.slice(40))
  fs.closeSync(fd)
  await k.waitForList(RES, (l) => l.length === 4)
  await new Promise((r) => setTimeout(r, 600))
  t.same(rejected(), [], 'no error for the half-written file')
  fs.writeFileSync(dp.configFile, '{"resourceList": [')
  await k.waitFor(() => rejected().length === 1, 'a file that stays bad is rejected')
  t.match(rejected()[0], { level: 50, err: /not valid JSON/ })
  t.equal(k.latest(RES)!.lists.at(-1)!.length, 4, 'the running config kept')
})

t.test('a FIFO at the config path (red team 9): refused, never waited on: exit 1 at start-up, the running config kept on reload', async (t) => {
  const { dp, k } = await servingX540(t, (dp) => new KubeletStandIn(dp.dpDir))
  // a ConfigMap update whose new file is a FIFO: the daemon hung in open(2) for good, deaf to SIGTERM
  fs.rmSync(dp.configFile)
  execFileSync('mkfifo', [dp.configFile])
  await k.waitFor(() => dp.logs().some((l) => l.msg === 'config file unreadable; keeping the running config' && /is a FIFO, not a regular file/.test(String(l.err ?? ''))), 'the FIFO rejected')
  t.equal(k.latest(RES)!.lists.at(-1)!.length, 8, 'the running config kept')
  fs.rmSync(dp.configFile)
  dp.writeConfig({ resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: { pciAddresses: HALF } }] })
  await k.waitForList(RES, (l) => l.length === 4, 5000)
  t.pass('still reading the config: the main thread was never blocked')

  const fifo = path.join(path.dirname(dp.configFile), 'fifo.json')
  execFileSync('mkfifo', [fifo])
  for (const args of [['--config-file', fifo, '--device-plugin-path', `${dp.dpDir}-2/`, '--http-addr', ''], ['explain', '--config-file', fifo]]) {
    const r = spawnSync(SRIOVDP_BIN, args, { env: { ...process.env, SRIOV_SYSFS_ROOT: dp.sysfs }, timeout: 20000, encoding: 'utf8' })
    t.equal(r.status, 1, `${args[0]}: exits 1 (${r.signal ?? ''} ${r.stderr.slice(-200)})`)
    t.match(r.stderr, /fifo\.json is a FIFO, not a regular file/)
  }
})
