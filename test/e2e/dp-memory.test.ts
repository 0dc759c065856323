// sriovdp lives for months on a node: what a config reload, a rescan, a link event or a ListAndWatch
// reconnection allocates must be released. 1,000 reloads (a resource added and removed each time, a kubelet
// restart, a SIGHUP rescan and a PF carrier flap every 50) must leave RSS where it was after warm-up, and
// /metrics without series of removed resources.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { addVeth, ip } from '../helpers/netns'
import { freePort, servingX540, X540_RESOURCE, X540_SEED } from '../helpers/sriovdp'
import { streamClients } from '../helpers/stream-client'

const RES = X540_RESOURCE
const SEED = X540_SEED
const HALF = ['0000:01:10.1', '0000:01:10.3', '0000:01:10.5', '0000:01:10.7']
const WARM_UP = 100
const RELOADS = 1000

const statusMiB = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
const rssMiB = (pid: number) => statusMiB(pid, 'VmRSS')
// the executable's own pages in RSS vary with the page cache (tens of MiB): the anonymous part is the daemon's
const anonMiB = (pid: number) => `${statusMiB(pid, 'RssAnon').toFixed(1)} MiB anonymous`

t.setTimeout(600000) // 1,000 reloads take about a minute; the runner's default limit is 120 s

t.test(`RSS after ${RELOADS} config reloads stays where it was after ${WARM_UP}; removed resources leave no metric series`, async (t) => {
  const pfVeth = addVeth(t, 'tdm')
  ip('link', 'set', pfVeth.name, 'up')
  ip('link', 'set', pfVeth.peer, 'up')
  const port = await freePort()
  const { dp, k } = await servingX540(t, (dp) => new KubeletStandIn(dp.dpDir), ['--http-addr', `127.0.0.1:${port}`], x540(pfVeth.name))
  const pid = dp.child!.pid!
  const atStart = rssMiB(pid)

  let reloads = 0
  let cycle = 0
  const reloadTwice = async () => {
    const added = `intel.com/added${cycle++}`
    dp.writeConfig({ resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: { pciAddresses: HALF } }, { resourceName: added.slice(10), selectors: { drivers: ['ixgbevf'] } }] })
    await k.waitForList(added, (l) => l.length === 4, 20000)
    dp.writeConfig(SEED)
    await k.waitForList(RES, (l) => l.length === 8, 20000)
    reloads += 2
    if (reloads % 50 === 0) {
      // a ListAndWatch reconnection, a rescan and link events with health changes
      const connections = k.connections.length
      await k.restart()
      await k.waitFor(() => k.connections.length > connections && (k.latest(RES)?.lists.length ?? 0) > 0, 'reconnected after a kubelet restart', 20000)
      dp.child!.kill('SIGHUP')
      ip('link', 'set', pfVeth.peer, 'down')
      await k.waitForList(RES, (l) => l.every((d) => d.health === 'Unhealthy'), 20000)
      ip('link', 'set', pfVeth.peer, 'up')
      await k.waitForList(RES, (l) => l.every((d) => d.health === 'Healthy'), 20000)
    }
  }
  while (reloads < WARM_UP) await reloadTwice()
  const warm = rssMiB(pid)
  while (reloads < RELOADS) await reloadTwice()
  const end = rssMiB(pid)
  t.comment(`RSS at start ${atStart.toFixed(1)} MiB, after ${WARM_UP} reloads ${warm.toFixed(1)} MiB, after ${RELOADS} ${end.toFixed(1)} MiB (ratio ${(end / warm).toFixed(3)}; ${anonMiB(pid)})`)
  t.ok(end / warm < 1.1, `RSS flat: ${end.toFixed(1)} MiB after ${RELOADS} reloads against ${warm.toFixed(1)} MiB after ${WARM_UP}`)
  t.equal(dp.child!.exitCode, null, 'still running')

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const resources = new Set([...metrics.matchAll(/resource="([^"]+)"/g)].map((m) => m[1]))
  t.same([...resources], [RES], 'series only for the configured resource')
})

t.test('ListAndWatch streams by the thousand, at once and one after another: memory comes back; kubelet keeps its stream', async (t) => {
  const pfVeth = addVeth(t, 'tdm')
  ip('link', 'set', pfVeth.name, 'up')
  ip('link', 'set', pfVeth.peer, 'up')
  const { dp, k } = await servingX540(t, (dp) => new KubeletStandIn(dp.dpDir), [], x540(pfVeth.name))
  const pid = dp.child!.pid!
  const sock = path.join(dp.dpDir, fs.readdirSync(dp.dpDir).find((f) => f.startsWith('sriov_'))!)
  const storm = async (n: number) => [await streamClients(sock, 'burst', n), await streamClients(sock, 'sequence', n, 4)]
  // warm-up: every path once (streams answered, refused, closed; connections refused), a few times
  for (let i = 0; i < 3; i++) await storm(60)
  await new Promise((r) => setTimeout(r, 5000)) // what the warm-up leaves, once it is over
  const warm = rssMiB(pid)
  const [burst, sequence] = await storm(2000)
  const peak = rssMiB(pid)
  t.ok(burst.answered >= 15 && burst.answered <= 16, `at most 16 streams at once (kubelet's is one): ${burst.answered} more answered`)
  t.ok(Object.keys(burst.errors).includes('8 intel.com/intel_sriov_netdevice: 16 ListAndWatch streams are open already'), `the others refused: ${JSON.stringify(burst.errors)}`)
  t.equal(sequence.answered, 2000, 'one after another, every stream answered')
  let end = peak
  await k.waitFor(() => (end = rssMiB(pid)) / warm < 1.1, 'RSS back within 10% of the warmed-up value', 60000).catch(() => {})
  t.comment(`RSS warm ${warm.toFixed(1)} MiB, right after 2,000 streams at once and 2,000 in sequence ${peak.toFixed(1)} MiB, then ${end.toFixed(1)} MiB (ratio ${(end / warm).toFixed(3)}; ${anonMiB(pid)})`)
  t.ok(end / warm < 1.1, `RSS back: ${end.toFixed(1)} MiB against ${warm.toFixed(1)} MiB warm`)

  // kubelet's stream was neither closed nor starved: it still gets the changes, on its first connection
  ip('link', 'set', pfVeth.peer, 'down')
  await k.waitForList(RES, (l) => l.every((d) => d.health === 'Unhealthy'))
  t.equal(k.connections.length, 1, 'kubelet never had to reconnect')
})
