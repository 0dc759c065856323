// kubelet dies with kill -9 and a new one starts: it re-creates kubelet.sock and may or may not have deleted
// our sockets. sriovdp must notice kubelet.sock itself being replaced and register every resource again.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { buildFakeSysfs, x540 } from '../helpers/fake-sysfs'
import { KubeletProcess } from '../helpers/kubelet-process'
import { dpRun } from '../helpers/sriovdp'

const RES = 'intel.com/intel_sriov_netdevice'
const SEED = { resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: { vendors: ['8086'], devices: ['1515'], drivers: ['ixgbevf'] } }] }
const inode = (file: string) => (fs.existsSync(file) ? fs.statSync(file).ino : undefined)

t.test('classic: kubelet killed -9 and restarted, plugin sockets left in place or cleaned: registered again each time', async (t) => {
  const dp = dpRun(t, SEED)
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = new KubeletProcess(dp.dpDir, { admitOnFirstList: 1 })
  await k.start()
  t.teardown(() => k.stop())
  dp.start()
  await k.waitForList(RES, (l) => l.length === 8)
  const ours = () => fs.readdirSync(dp.dpDir).filter((f) => f.startsWith('sriov_'))
  for (const clean of [false, false, true, false]) {
    const registrations = k.registrations.length
    await k.kill9()
    t.ok(fs.existsSync(path.join(dp.dpDir, 'kubelet.sock')), 'kill -9 leaves kubelet.sock behind')
    t.equal(ours().length, 1, 'and our socket')
    await k.start({ clean })
    await k.waitForRegistrations(registrations + 1, 20000)
    await k.waitForList(RES, (l) => l.length === 8)
    t.equal(ours().length, 1, `served again after a restart that ${clean ? 'deleted' : 'left'} our socket`)
  }
  t.equal(k.registrations.length, 5, 'one registration per kubelet')
  t.same(k.firstLists(RES).map((l) => l.length), [8, 8, 8, 8, 8], 'each new connection first answers the full list')
  await k.waitFor(() => k.admissions.length === 5, 'every waiting pod decided')
  t.same(k.admissions.filter((a) => !a.ok), [])
})

t.test('watcher mode: kubelet killed -9 and restarted: the socket is served anew and registered again', async (t) => {
  const dp = dpRun(t, SEED)
  buildFakeSysfs(dp.sysfs, [x540()])
  fs.mkdirSync(dp.registryDir, { recursive: true })
  const k = new KubeletProcess(dp.dpDir, { registryDir: dp.registryDir, admitOnFirstList: 1 })
  await k.start()
  t.teardown(() => k.stop())
  dp.start(['--registration', 'auto'])
  await k.waitForList(RES, (l) => l.length === 8, 20000)
  const sock = path.join(dp.registryDir, 'intel.com_intel_sriov_netdevice.sock')
  for (let i = 0; i < 3; i++) {
    const before = inode(sock)
    const connections = k.connections.length
    await k.restart()
    // kubelet's plugin watcher finds a socket created after it started: that is what registers us again
    await k.waitFor(() => inode(sock) !== undefined && inode(sock) !== before, `restart ${i + 1}: our socket re-created`, 20000)
    await k.waitFor(() => k.connections.length > connections && k.latest(RES)!.lists.length > 0, `restart ${i + 1}: kubelet connected again`, 20000)
    await k.waitForList(RES, (l) => l.length === 8)
  }
  t.same(k.firstLists(RES).filter((l) => l.length !== 8), [], 'every connection first answers the full list')
  await k.waitFor(() => k.admissions.length === k.connections.filter((c) => c.lists.length > 0).length, 'every waiting pod decided')
  t.same(k.admissions.filter((a) => !a.ok), [])
})
