// kubelet dies with kill -9 and a new one starts: it re-creates kubelet.sock and may or may not have deleted
// our sockets. sriovdp must notice kubelet.sock itself being replaced and register every resource again.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { KubeletProcess } from '../helpers/kubelet-process'
import { servingX540, X540_RESOURCE, type DpRun } from '../helpers/sriovdp'

const RES = X540_RESOURCE
// inode and birth time: a file system may give a re-created file the inode number just freed
const identity = (file: string) => {
  const s = fs.statSync(file, { bigint: true, throwIfNoEntry: false })
  return s && `${s.ino}:${s.birthtimeNs}`
}

/** A kubelet in watcher mode; `traverse` false: its plugin watcher sees only sockets created after it starts. */
function watcher(dp: DpRun, traverse: boolean): KubeletProcess {
  fs.mkdirSync(dp.registryDir, { recursive: true })
  return new KubeletProcess(dp.dpDir, { registryDir: dp.registryDir, traverse, admitOnFirstList: 1 })
}

t.test('classic: kubelet killed -9 and restarted, plugin sockets left in place or cleaned: registered again each time', async (t) => {
  const { dp, k } = await servingX540(t, (dp) => new KubeletProcess(dp.dpDir, { admitOnFirstList: 1 }))
  const ours = () => fs.readdirSync(dp.dpDir).filter((f) => f.startsWith('sriov_'))
  for (const clean of [false, false, true, false]) {
    await k.waitForAdmissions() // the pod waiting on the last connection, before kubelet dies
    const connections = k.connections.length
    await k.kill9()
    t.ok(fs.existsSync(path.join(dp.dpDir, 'kubelet.sock')), 'kill -9 leaves kubelet.sock behind')
    t.equal(ours().length, 1, 'and our socket')
    await k.start({ clean })
    await k.waitFor(() => k.connections.length > connections && k.latest(RES)!.lists.length > 0, 'registered and connected again', 20000)
    await k.waitForList(RES, (l) => l.length === 8)
    t.equal(ours().length, 1, `served again after a restart that ${clean ? 'deleted' : 'left'} our socket`)
  }
  t.equal(k.registrations.length, 5, 'one registration per kubelet')
  t.same(k.firstLists(RES).map((l) => l.length), [8, 8, 8, 8, 8], 'each new connection first answers the full list')
  await k.waitForAdmissions()
  t.same(k.admissions.filter((a) => !a.ok), [])
})

t.test('watcher mode: a restarted kubelet that finds the socket keeps its connection: no stream broken, full first answers', async (t) => {
  const { k } = await servingX540(t, (dp) => watcher(dp, true), ['--registration', 'auto'])
  for (let i = 0; i < 3; i++) {
    await k.waitForAdmissions()
    const connections = k.connections.length
    await k.restart()
    await k.waitFor(() => k.connections.length > connections && k.latest(RES)!.lists.length > 0, `restart ${i + 1}: kubelet connected again`, 20000)
    await k.waitForList(RES, (l) => l.length === 8)
  }
  await k.waitForAdmissions()
  t.same(k.connections.filter((c) => c.lists.length === 0).length, 0, 'every connection kubelet made got its answer: none was cut by serving anew')
  t.same(k.firstLists(RES).filter((l) => l.length !== 8), [], 'every connection first answers the full list')
  t.equal(k.allocatable(RES), 8)
  t.same(k.admissions.filter((a) => !a.ok), [])
})

t.test('watcher mode: a restarted kubelet whose watcher sees only new sockets: the socket is served anew and registered', async (t) => {
  const { dp, k } = await servingX540(t, (dp) => watcher(dp, false), ['--registration', 'auto'])
  const sock = path.join(dp.registryDir, 'intel.com_intel_sriov_netdevice.sock')
  for (let i = 0; i < 3; i++) {
    await k.waitForAdmissions()
    const before = identity(sock)
    const connections = k.connections.length
    await k.restart()
    await k.waitFor(() => identity(sock) !== undefined && identity(sock) !== before, `restart ${i + 1}: our socket re-created`, 20000)
    await k.waitFor(() => k.connections.length > connections && k.latest(RES)!.lists.length > 0, `restart ${i + 1}: kubelet connected again`, 20000)
  }
  await k.waitForAdmissions()
  t.same(k.firstLists(RES).map((l) => l.length), [8, 8, 8, 8], 'every connection first answers the full list')
  t.same(k.admissions.filter((a) => !a.ok), [])
})
