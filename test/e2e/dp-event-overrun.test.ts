// sriovdp's netlink event sockets overflow when events come faster than it reads them (a flood, or the daemon
// paused by SIGSTOP as under CPU throttling): the events beyond the receive buffer are lost, the process must
// not be (node-netlink aborted it), and what was lost is recovered by a full rescan. The daemon runs in its
// own network namespace, so that the uevents and link events the test makes reach it and nothing else.
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { addVf, buildFakeSysfs, x540 } from '../helpers/fake-sysfs'
import type { Device } from '../../deviceplugin/api'
import { KubeletStandIn } from '../helpers/kubelet'
import { addNetns, ip } from '../helpers/netns'
import { dpRun, X540_RESOURCE, X540_SEED } from '../helpers/sriovdp'
import { sendUevents } from '../helpers/uevents'

const RES = X540_RESOURCE
// a receive buffer (212 KiB by default) holds a few hundred uevents or about a hundred link messages
const UEVENTS = 3000
const LINK_PAIRS = 200

async function servedInNetns(t: any, pfName: string, vfs: number) {
  const ns = addNetns(t, 'tdo')
  const dp = dpRun(t, X540_SEED)
  const pf = x540(pfName)
  const all = pf.vfs
  pf.vfs = all.slice(0, vfs)
  buildFakeSysfs(dp.sysfs, [pf])
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  // a daemon that dies fails the wait at once, with its last words
  const list = (pred: (l: Device[]) => boolean) =>
    Promise.race([k.waitForList(RES, pred), dp.exited().then(() => Promise.reject(new Error(`sriovdp died (${dp.child!.signalCode ?? dp.child!.exitCode}): ${dp.stderr.slice(-300)}`)))])
  return { ns, dp, pf, all, k, list, start: () => dp.start([], { netns: ns.name }) }
}

/** Runs `fn` while the daemon is stopped (SIGSTOP), as under CPU throttling: nothing it receives is read. */
function whileStopped(pid: number, fn: () => void): void {
  process.kill(pid, 'SIGSTOP')
  try {
    fn()
  } finally {
    process.kill(pid, 'SIGCONT')
  }
}

t.test('uevents sent while the daemon is stopped overflow its socket: it lives on, rescans, and keeps listening', async (t) => {
  const { ns, dp, pf, all, list, start } = await servedInNetns(t, 'eno2', 6)
  start()
  await list((l) => l.length === 6)
  whileStopped(dp.child!.pid!, () => {
    addVf(dp.sysfs, pf, all[6], 6) // a VF that appears while the daemon cannot read its uevent
    sendUevents(ns.path, UEVENTS)
  })
  await list((l) => l.length === 7)
  t.pass('alive after the overflow; the VF added meanwhile is offered')
  t.ok(dp.logs().some((l) => l.msg === 'uevents lost (receive buffer full): rescanning everything' && Number(l.lost) > 0), 'the loss is logged')

  // still listening: one more VF and a single uevent announce it
  addVf(dp.sysfs, pf, all[7], 7)
  sendUevents(ns.path, 1, `/devices/pci0000:00/${all[7].pci}`)
  await list((l) => l.length === 8)

  // back to back without a pause, as the red team sent them
  sendUevents(ns.path, UEVENTS * 3)
  addVf(dp.sysfs, pf, { ...all[7], pci: '0000:01:12.1' }, 8)
  sendUevents(ns.path, 1, '/devices/pci0000:00/0000:01:12.1')
  await list((l) => l.length === 9)
  t.equal(dp.child!.exitCode, null, 'alive after a flood')
})

t.test('link events that overflow the rtnetlink socket while the daemon is stopped: it lives on and health follows', async (t) => {
  const pfName = `tdo${process.pid % 1000}pf`
  const { ns, dp, list, start } = await servedInNetns(t, pfName, 8)
  ip('-n', ns.name, 'link', 'add', pfName, 'type', 'veth', 'peer', 'name', `${pfName}p`)
  ip('-n', ns.name, 'link', 'set', pfName, 'up')
  ip('-n', ns.name, 'link', 'set', `${pfName}p`, 'up')
  start()
  await list((l) => l.length === 8 && l.every((d) => d.health === 'Healthy'))
  whileStopped(dp.child!.pid!, () => {
    const pairs = Array.from({ length: LINK_PAIRS }, (_, i) => `tdov${i}`)
    const batch = [...pairs.map((n) => `link add ${n} type veth peer name ${n}p`), ...pairs.map((n) => `link del ${n}`), `link set ${pfName}p down`]
    execFileSync('ip', ['-n', ns.name, '-batch', '-'], { input: batch.join('\n') })
  })
  await list((l) => l.every((d) => d.health === 'Unhealthy'))
  t.pass('alive after the overflow; the carrier lost meanwhile is seen')
  t.ok(dp.logs().some((l) => l.msg === 'link events lost (receive buffer full): rescanning everything'), 'the loss is logged')

  ip('-n', ns.name, 'link', 'set', `${pfName}p`, 'up') // still listening: the carrier coming back is seen
  await list((l) => l.every((d) => d.health === 'Healthy'))
  t.equal(dp.child!.exitCode, null)
})
